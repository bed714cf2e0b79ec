/**
 * How every benchmark ends, so that `bench/run.sh` can tell a missed goal from
 * a benchmark that no longer runs: exit code 0 when its goals are met (or it
 * has none), 1 when one is missed, 2 when it failed to run (with one `error:`
 * line on stderr).
 */
export const runBenchmark = (main: () => Promise<boolean>): void => {
  main().then(
    (met) => process.exit(met ? 0 : 1),
    (error: unknown) => {
      console.error(`error: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`)
      process.exit(2)
    }
  )
}
