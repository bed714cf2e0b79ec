/**
 * What the engine's `migrate lint` costs beside replaying the same files:
 * `node bench/lint.ts` (no goal; it prints the ratios).
 *
 * Lint replays the files before the checked ones on a scratch dev database,
 * then runs each checked file statement by statement, inspecting the dev
 * database after every statement that can change what the analyzers compare
 * (not after functions, triggers, their comments and SET: engine/lint.go,
 * outsideRealm). The baseline is the replay alone: `applyMigrations` (the
 * engine's migrate apply) of every file on an empty database, which is the
 * least any lint of them must do. Both make their database inside the timing
 * (lint makes its own dev database; the replay's is made and dropped the same
 * way), on CONTROL_PLANE_ADMIN_URL's server.
 *
 * Lines, each measured once per round, in turn, after a warm-up round; the
 * figure is the median of the rounds:
 *   - baseline: every migration replayed on an empty database;
 *   - lint of every migration (what `db lint --all` asks of the engine);
 *   - lint of the newest migration (`db lint` on a branch that adds it), the
 *     others only replayed.
 *
 *   BENCH_ROUNDS  measured rounds (default 9)
 */
import { loadavg } from "node:os"
import { Effect, Layer } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Engine } from "../cli/src/engine/Engine.ts"
import { applyMigrations } from "../cli/src/schema/apply.ts"
import { migrationFiles } from "../cli/src/schema/gate/changes.ts"
import { engineLint } from "../cli/src/schema/gate/engineLint.ts"
import { SchemaProject } from "../cli/src/schema/Project.ts"
import { ScratchDatabase } from "../cli/src/schema/ScratchDatabase.ts"
import { runBenchmark } from "./support/runBenchmark.ts"
import { median } from "./support/stats.ts"

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 9)

const tools = Layer.mergeAll(Engine.layer, ScratchDatabase.layer, SchemaProject.layer, NodeServices.layer)
const run = <A, E>(effect: Effect.Effect<A, E, Layer.Success<typeof tools>>): Promise<A> =>
  Effect.runPromise(Effect.provide(effect, tools))

/** Seconds `work` takes. */
const time = async (work: () => Promise<unknown>): Promise<number> => {
  const start = process.hrtime.bigint()
  await work()
  return Number(process.hrtime.bigint() - start) / 1e9
}

const main = async (): Promise<boolean> => {
  const project = await run(SchemaProject)
  const files = await run(migrationFiles(project.migrations))
  const lintOf = (count: number) => () =>
    run(engineLint(project, count)).then((findings) => {
      if (findings.length > 0) throw new Error(`the project's migrations should lint clean: ${JSON.stringify(findings)}`)
    })
  const lines = [
    {
      label: `baseline: replay of all ${files.length} migrations on an empty database`,
      measure: () => run(Effect.scoped(Effect.flatMap(ScratchDatabase.use((scratch) => scratch.make("cp_bench_replay")), (database) => applyMigrations(database.url))))
    },
    { label: `lint of all ${files.length} migrations (db lint --all)`, measure: lintOf(files.length) },
    { label: `lint of the newest, ${files.at(-1)} (db lint)`, measure: lintOf(1) }
  ]
  const load = () => loadavg().map((l) => l.toFixed(1)).join(" ")
  const loadBefore = load()
  const times = lines.map((): Array<number> => [])
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [index, line] of lines.entries()) {
      const seconds = await time(line.measure)
      if (round > 0) times[index]!.push(seconds) // round 0 is the warm-up
    }
  }
  const figures = times.map(median)
  console.log(`the engine's migrate lint, median of ${ROUNDS} interleaved rounds, load average ${loadBefore} -> ${load()}:`)
  lines.forEach((line, index) =>
    console.log(`${line.label.padEnd(72)} ${figures[index]!.toFixed(3).padStart(7)} s  ${(figures[index]! / figures[0]!).toFixed(1).padStart(5)}x the replay`)
  )
  return true // figures only, no goal
}

runBenchmark(main)
