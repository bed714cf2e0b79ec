/**
 * The engine's `migrate lint` on the files the gate checks, read back as
 * findings.
 *
 * The engine replays the older files on a scratch dev database, then each
 * checked file statement by statement, and runs Atlas's PostgreSQL analyzers
 * (destructive, data_depend, incompatible, condrop) and its own
 * concurrent_index, with the options of atlas.hcl's `lint` block; a statement
 * that does not replay is RP101 (replay). `-- atlas:nolint` markers are
 * honoured by the engine itself. Every finding it reports fails the gate.
 */
import { Effect } from "effect"
import { Engine } from "../../engine/Engine.ts"
import type { SchemaProjectShape } from "../Project.ts"
import { ScratchDatabase } from "../ScratchDatabase.ts"
import { finding, type Finding } from "./findings.ts"
import { headline } from "./statements.ts"

/** The engine's analyzer for a file that does not replay. */
export const replayAnalyzer = "replay"

/** Lints the latest `count` files of the project's migration directory. */
export const engineLint = (project: SchemaProjectShape, count: number) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const scratch = yield* ScratchDatabase
    const report = yield* Effect.scoped(
      Effect.flatMap(scratch.make("cp_gate_dev"), (dev) => engine.migrateLint(project, count, { devUrl: dev.url }))
    )
    return report.findings.map((f): Finding =>
      finding({
        file: f.file,
        line: f.line,
        statement: f.statement === "" ? undefined : headline(f.statement),
        source: "engine",
        rule: `${f.code} (${f.analyzer})`,
        message: f.message
      })
    )
  })
