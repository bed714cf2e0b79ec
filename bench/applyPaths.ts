/**
 * How long each path takes to build the schema on an empty database, beside
 * baselines measured in the same run: `node bench/applyPaths.ts` (exit 1 when
 * the goal, `db apply` in at most 0.6 s, is missed).
 *
 * For each path, on a fresh empty database every round (created and dropped
 * outside the timing, on CONTROL_PLANE_ADMIN_URL's server):
 *   - in process: applyDesiredState / applyMigrations, as the CLI calls them;
 *   - as a command: `node cli/src/main.ts db apply|migrate` (what
 *     `npm run db:apply|db:migrate` runs after its setup check), start-up included.
 * Baselines:
 *   - bare SQL: the same statements db apply ends up running (the engine's
 *     plan for an empty database, the routines, the seeds) sent by
 *     node-postgres as one script, with no planning at all;
 *   - `node -e 0` and `node cli/src/main.ts --version`: process start-up,
 *     and the CLI's own start-up (loading its modules).
 * Each figure is the median of the rounds; the ratio is against bare SQL.
 */
import { spawnSync } from "node:child_process"
import path from "node:path"
import { Effect, Exit, Layer, Redacted, Scope } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Engine } from "../cli/src/engine/Engine.ts"
import { applyDesiredState, applyMigrations, projectRoutines, projectSeeds } from "../cli/src/schema/apply.ts"
import { runScript } from "../cli/src/schema/postgres.ts"
import { SchemaProject } from "../cli/src/schema/Project.ts"
import { ScratchDatabase } from "../cli/src/schema/ScratchDatabase.ts"

const GOAL_SECONDS = 0.6
const ROUNDS = 7
const root = path.resolve(import.meta.dirname, "..")

const tools = Layer.mergeAll(Engine.layer, ScratchDatabase.layer, SchemaProject.layer, NodeServices.layer)
const run = <A, E>(effect: Effect.Effect<A, E, Layer.Success<typeof tools>>): Promise<A> =>
  Effect.runPromise(Effect.provide(effect, tools))

/** Runs `timed` on a fresh empty database, created and dropped outside the timing; seconds. */
const onEmptyDatabase = async (timed: (url: Redacted.Redacted<string>) => Promise<unknown>): Promise<number> => {
  const scope = Effect.runSync(Scope.make())
  try {
    const database = await run(ScratchDatabase.use((scratch) => scratch.make("cp_bench_paths")).pipe(Scope.provide(scope)))
    const start = process.hrtime.bigint()
    await timed(database.url)
    return Number(process.hrtime.bigint() - start) / 1e9
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

const command = (args: ReadonlyArray<string>, env: Record<string, string> = {}): void => {
  const result = spawnSync(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] })
  if (result.status !== 0) throw new Error(`${args.join(" ")} failed: ${result.stderr.toString().trim()}`)
}

const timeCommand = (args: ReadonlyArray<string>): number => {
  const start = process.hrtime.bigint()
  command(args)
  return Number(process.hrtime.bigint() - start) / 1e9
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const rounds = async (measure: () => Promise<number> | number): Promise<number> => {
  const times: Array<number> = []
  for (let i = 0; i < ROUNDS; i++) times.push(await measure())
  return median(times)
}

/** The statements db apply runs on an empty database, as one script. */
const bareScript = async (): Promise<string> => {
  const plan = await onEmptyDatabaseResult((url) =>
    run(Effect.gen(function*() {
      const engine = yield* Engine
      const scratch = yield* ScratchDatabase
      const dev = yield* scratch.make("cp_bench_dev")
      return yield* engine.schemaApply(yield* SchemaProject, { url, devUrl: dev.url }, { dryRun: true })
    }).pipe(Effect.scoped)))
  const routines = await run(projectRoutines)
  const seeds = await run(projectSeeds)
  return [`BEGIN;`, ...plan.changes.map((c) => `${c.sql};`), routines.sql, ...seeds.map((s) => s.sql), `COMMIT;`].join("\n")
}

const onEmptyDatabaseResult = async <A>(use: (url: Redacted.Redacted<string>) => Promise<A>): Promise<A> => {
  let result: A | undefined
  await onEmptyDatabase(async (url) => {
    result = await use(url)
  })
  return result!
}

const main = async (): Promise<number> => {
  const script = await bareScript()
  // One warm-up of each, so that no figure pays for a first run (disk cache, Go runtime pages).
  await onEmptyDatabase((url) => run(applyDesiredState(url)))
  await onEmptyDatabase((url) => run(applyMigrations(url)))

  const bare = await rounds(() => onEmptyDatabase((url) => Effect.runPromise(runScript(url, script))))
  const declarative = await rounds(() => onEmptyDatabase((url) => run(applyDesiredState(url))))
  const versioned = await rounds(() => onEmptyDatabase((url) => run(applyMigrations(url))))
  const nodeStart = await rounds(() => timeCommand(["-e", "0"]))
  const cliStart = await rounds(() => timeCommand(["cli/src/main.ts", "--version"]))
  const asCommand = (verb: string) =>
    rounds(() => onEmptyDatabase(async (url) => command(["cli/src/main.ts", "db", verb], { DATABASE_URL: Redacted.value(url) })))
  const applyCommand = await asCommand("apply")
  const migrateCommand = await asCommand("migrate")

  const line = (label: string, seconds: number, ratio = true) =>
    console.log(`${label.padEnd(48)} ${seconds.toFixed(3).padStart(7)} s${ratio ? `  ${(seconds / bare).toFixed(1).padStart(5)}x bare SQL` : ""}`)
  console.log(`the schema on an empty database, median of ${ROUNDS} rounds (PostgreSQL of CONTROL_PLANE_ADMIN_URL):`)
  line("baseline: bare SQL (same statements, one script)", bare)
  line("declarative path, in process (applyDesiredState)", declarative)
  line("versioned path, in process (applyMigrations)", versioned)
  line("baseline: node -e 0", nodeStart, false)
  line("baseline: node cli/src/main.ts --version", cliStart, false)
  line("db apply as a command (node cli/src/main.ts)", applyCommand)
  line("db migrate as a command (node cli/src/main.ts)", migrateCommand)
  const met = declarative <= GOAL_SECONDS
  console.log(
    `goal: db apply <= ${GOAL_SECONDS} s (was 1.2 s with the Atlas CLI): in process ${declarative.toFixed(3)} s ${met ? "met" : "MISSED"}; ` +
      `as a command ${applyCommand.toFixed(3)} s, of which ${cliStart.toFixed(3)} s is the CLI's start-up`
  )
  return met ? 0 : 1
}

process.exitCode = await main()
