/**
 * How long each path takes to build the schema on an empty database, beside
 * baselines measured in the same run: `node bench/applyPaths.ts` (exit 1 when
 * the goal, `npm run db:apply` in at most 0.6 s, is missed).
 *
 * Each path runs on a fresh empty database every round (created and dropped
 * outside the timing, on CONTROL_PLANE_ADMIN_URL's server):
 *   - in process: applyDesiredState / applyMigrations, as the CLI calls them;
 *   - as the npm scripts, exactly as the README shows them: `npm run --silent
 *     db:apply|db:migrate` (npm, the setup check, Node's start-up, the CLI's
 *     bundle, the work): the goal's measure;
 *   - as a command without npm: `node cli/dist/main.js db apply` (the bundle
 *     the npm scripts run) and `node cli/src/main.ts db apply` (the sources).
 * Baselines:
 *   - bare SQL: the same statements db apply ends up running (the engine's
 *     plan for an empty database, the routines, the seeds) sent by
 *     node-postgres as one script, with no planning at all;
 *   - an empty database created and dropped: what a scratch dev database
 *     costs the declarative path where it needs one (on a database that
 *     already holds control_plane; a new one is planned without);
 *   - `node -e 0`, `npm run --silent setup -- --quiet` (npm and the setup
 *     check every script starts with), and `control-plane --version` from
 *     the bundle and from the sources: start-up alone.
 * The machine is shared and its load comes and goes, so every round measures
 * each line once, in turn, after one round of warm-up (disk cache, Node's
 * compile cache, a bundle rebuilt by the setup check); each figure is the
 * median of the rounds, and the ratios are against bare SQL.
 *
 *   BENCH_ROUNDS  measured rounds (default 11)
 */
import { spawnSync } from "node:child_process"
import { loadavg } from "node:os"
import path from "node:path"
import { Effect, Exit, Layer, Redacted, Scope } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Engine } from "../cli/src/engine/Engine.ts"
import { applyDesiredState, applyMigrations, projectRoutines, projectSeeds } from "../cli/src/schema/apply.ts"
import { runScript } from "../cli/src/schema/postgres.ts"
import { SchemaProject } from "../cli/src/schema/Project.ts"
import { ScratchDatabase } from "../cli/src/schema/ScratchDatabase.ts"
import { runBenchmark } from "./support/runBenchmark.ts"
import { median } from "./support/stats.ts"

const GOAL_SECONDS = 0.6
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 11)
const root = path.resolve(import.meta.dirname, "..")

const tools = Layer.mergeAll(Engine.layer, ScratchDatabase.layer, SchemaProject.layer, NodeServices.layer)
const run = <A, E>(effect: Effect.Effect<A, E, Layer.Success<typeof tools>>): Promise<A> =>
  Effect.runPromise(Effect.provide(effect, tools))

const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9

/** Runs `timed` on a fresh empty database, created and dropped outside the timing; seconds. */
const onEmptyDatabase = async (timed: (url: Redacted.Redacted<string>) => Promise<unknown> | void): Promise<number> => {
  const scope = Effect.runSync(Scope.make())
  try {
    const database = await run(ScratchDatabase.use((scratch) => scratch.make("cp_bench_paths")).pipe(Scope.provide(scope)))
    const start = process.hrtime.bigint()
    await timed(database.url)
    return seconds(start)
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** Runs a program to its end (output discarded); fails with its stderr. */
const spawn = (program: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): void => {
  const result = spawnSync(program, args, {
    cwd: root,
    // The project's Node first, as npm scripts have it.
    env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env["PATH"] ?? ""}`, ...env },
    stdio: ["ignore", "ignore", "pipe"]
  })
  if (result.status !== 0) throw new Error(`${program} ${args.join(" ")} failed: ${result.stderr.toString().trim()}`)
}

const timed = (program: string, args: ReadonlyArray<string>): number => {
  const start = process.hrtime.bigint()
  spawn(program, args)
  return seconds(start)
}

/** A program run on a fresh empty database, DATABASE_URL naming it. */
const onEmpty = (program: string, args: ReadonlyArray<string>) => () =>
  onEmptyDatabase((url) => spawn(program, args, { DATABASE_URL: Redacted.value(url) }))

/** The statements db apply runs on an empty database, as one script. */
const bareScript = async (): Promise<string> => {
  let plan: { readonly changes: ReadonlyArray<{ readonly sql: string }> } = { changes: [] }
  await onEmptyDatabase(async (url) => {
    plan = await run(Effect.gen(function*() {
      const engine = yield* Engine
      const scratch = yield* ScratchDatabase
      const dev = yield* scratch.make("cp_bench_dev")
      return yield* engine.schemaApply(yield* SchemaProject, { url, devUrl: dev.url }, { dryRun: true })
    }).pipe(Effect.scoped))
  })
  const routines = await run(projectRoutines)
  const seeds = await run(projectSeeds)
  return [`BEGIN;`, ...plan.changes.map((c) => `${c.sql};`), routines.sql, ...seeds.map((s) => s.sql), `COMMIT;`].join("\n")
}

interface Line {
  readonly label: string
  readonly measure: () => Promise<number> | number
  /** Printed with its ratio to bare SQL (the paths; not the start-up baselines). */
  readonly ratio: boolean
}

const main = async (): Promise<boolean> => {
  const script = await bareScript()
  const lines: ReadonlyArray<Line> = [
    { label: "baseline: bare SQL (same statements, one script)", ratio: true, measure: () => onEmptyDatabase((url) => Effect.runPromise(runScript(url, script))) },
    {
      label: "baseline: an empty database created and dropped",
      ratio: true,
      measure: async () => {
        const start = process.hrtime.bigint()
        await run(Effect.scoped(ScratchDatabase.use((scratch) => scratch.make("cp_bench_devcost"))))
        return seconds(start)
      }
    },
    { label: "declarative path, in process (applyDesiredState)", ratio: true, measure: () => onEmptyDatabase((url) => run(applyDesiredState(url))) },
    { label: "versioned path, in process (applyMigrations)", ratio: true, measure: () => onEmptyDatabase((url) => run(applyMigrations(url))) },
    { label: "baseline: node -e 0", ratio: false, measure: () => timed(process.execPath, ["-e", "0"]) },
    { label: "baseline: npm run --silent setup -- --quiet", ratio: false, measure: () => timed("npm", ["run", "--silent", "setup", "--", "--quiet"]) },
    { label: "baseline: node cli/dist/main.js --version", ratio: false, measure: () => timed(process.execPath, ["cli/dist/main.js", "--version"]) },
    { label: "baseline: node cli/src/main.ts --version", ratio: false, measure: () => timed(process.execPath, ["cli/src/main.ts", "--version"]) },
    { label: "db apply, node cli/src/main.ts (sources)", ratio: true, measure: onEmpty(process.execPath, ["cli/src/main.ts", "db", "apply"]) },
    { label: "db apply, node cli/dist/main.js (bundle)", ratio: true, measure: onEmpty(process.execPath, ["cli/dist/main.js", "db", "apply"]) },
    { label: "npm run --silent db:migrate", ratio: true, measure: onEmpty("npm", ["run", "--silent", "db:migrate"]) },
    { label: "npm run --silent db:apply", ratio: true, measure: onEmpty("npm", ["run", "--silent", "db:apply"]) }
  ]
  const load = () => loadavg().map((l) => l.toFixed(1)).join(" ")
  const loadBefore = load()
  const times = lines.map((): Array<number> => [])
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [index, line] of lines.entries()) {
      const time = await line.measure()
      if (round > 0) times[index]!.push(time) // round 0 is the warm-up
    }
  }
  const figures = times.map(median)
  const bare = figures[0]!
  const figure = (label: string) => figures[lines.findIndex((line) => line.label === label)]!

  console.log(`the schema on an empty database, median of ${ROUNDS} interleaved rounds (PostgreSQL of CONTROL_PLANE_ADMIN_URL), load average ${loadBefore} -> ${load()}:`)
  lines.forEach((line, index) => {
    const seconds = figures[index]!
    console.log(`${line.label.padEnd(52)} ${seconds.toFixed(3).padStart(7)} s${line.ratio ? `  ${(seconds / bare).toFixed(1).padStart(5)}x bare SQL` : ""}`)
  })
  const npmApply = figure("npm run --silent db:apply")
  const met = npmApply <= GOAL_SECONDS
  console.log(
    `goal: npm run db:apply <= ${GOAL_SECONDS} s (was 1.2 s with the Atlas CLI): ${npmApply.toFixed(3)} s ${met ? "met" : "MISSED"}; ` +
      `in process ${figure("declarative path, in process (applyDesiredState)").toFixed(3)} s (no dev database on an empty one; creating and dropping one ` +
      `costs ${figure("baseline: an empty database created and dropped").toFixed(3)} s); start-up: npm and the setup check ` +
      `${figure("baseline: npm run --silent setup -- --quiet").toFixed(3)} s, the bundle ${figure("baseline: node cli/dist/main.js --version").toFixed(3)} s`
  )
  return met
}

runBenchmark(main)
