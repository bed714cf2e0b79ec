/**
 * The migration safety gate (`control-plane db lint`, `npm run db:lint`):
 * every migration file that is new on this branch must pass
 *
 *   1. the engine's `migrate lint` with atlas.hcl's `lint` block (destructive
 *      and data-dependent changes, non-concurrent index builds, ... are
 *      errors), replayed on a scratch dev database;
 *   2. squawk with the committed .squawk.toml;
 *   3. require-lock-timeout: a statement that locks a table created by an
 *      earlier migration runs with `lock_timeout` set (observed on a scratch
 *      database, see gate/lockProbe.ts);
 *   4. every exception marker (`-- atlas:nolint`, `-- squawk-ignore`) names its
 *      rules and carries a written reason;
 *   5. no file the base branch already holds was edited.
 *
 * The result is a list of findings, each naming file, statement and rule.
 */
import { Effect, FileSystem } from "effect"
import path from "node:path"
import { Engine, type EngineError } from "../engine/Engine.ts"
import { changedFiles, type Selection } from "./gate/changes.ts"
import { engineLint, replayAnalyzer } from "./gate/engineLint.ts"
import { finding, formatFindings, type Finding } from "./gate/findings.ts"
import { probeLockTimeouts } from "./gate/lockProbe.ts"
import { scanMarkers } from "./gate/markers.ts"
import { squawkLint } from "./gate/squawk.ts"
import { SchemaProject } from "./Project.ts"
import { ScratchDatabase } from "./ScratchDatabase.ts"

export type { Selection } from "./gate/changes.ts"
export type { Finding } from "./gate/findings.ts"

/** Files checked when no base branch can be compared with: the newest one, as `atlas migrate lint --latest 1`. */
export const defaultLatest = 1

export interface GateReport {
  /** How the files were chosen. */
  readonly description: string
  /** The files that were checked, in version order. */
  readonly checked: ReadonlyArray<string>
  readonly findings: ReadonlyArray<Finding>
}

/** A directory whose atlas.sum does not match its files is a finding of the gate, not a failure to run it. */
const integrityFinding = (error: EngineError) =>
  error.reason === "ChecksumMismatch"
    ? Effect.succeed([finding({ file: "atlas.sum", source: "engine", rule: "integrity", message: error.message })])
    : Effect.fail(error)

/** With nothing new to lint, still prove the directory is intact: atlas.sum matches and every file replays. */
const validateDirectory = Effect.gen(function*() {
  const project = yield* SchemaProject
  const engine = yield* Engine
  const scratch = yield* ScratchDatabase
  return yield* Effect.scoped(
    Effect.flatMap(scratch.make("cp_gate_dev"), (dev) => engine.migrateValidate(project, { devUrl: dev.url }))
  ).pipe(
    Effect.as<ReadonlyArray<Finding>>([]),
    Effect.catchTag("EngineError", (error) =>
      error.reason === "MigrationFailed"
        ? Effect.succeed([finding({ file: error.file ?? "atlas.sum", source: "engine", rule: "replay", message: error.message })])
        : integrityFinding(error))
  )
})

/** Runs every check of the gate on the new files of the project's migration directory. */
export const runGate = Effect.fn("runGate")(function*(selection: Selection) {
  const project = yield* SchemaProject
  const fs = yield* FileSystem.FileSystem
  const directory = project.migrations
  const changes = yield* changedFiles(directory, selection)
  const checked = changes.files.slice(changes.firstNew)
  const findings: Array<Finding> = changes.edited.map((file) =>
    finding({
      file,
      source: "gate",
      rule: "edited-migration",
      message: "this file is already on the base branch and was changed: reviewed migrations are immutable, add a new one"
    })
  )
  if (checked.length === 0) {
    findings.push(...(yield* validateDirectory))
    const report: GateReport = { description: changes.description, checked, findings }
    return report
  }
  for (const file of checked) {
    findings.push(...scanMarkers(file, yield* fs.readFileString(path.join(directory, file))).findings)
  }
  // The checks run side by side; each drops its scratch database when it ends or is interrupted.
  const [fromEngine, fromSquawk, fromProbe] = yield* Effect.all(
    [
      engineLint(project, checked.length).pipe(Effect.catchTag("EngineError", integrityFinding)),
      squawkLint(project, directory, checked),
      probeLockTimeouts(directory, changes.files, changes.firstNew)
    ],
    { concurrency: "unbounded" }
  )
  // A file that does not replay is reported by the engine already; the probe's own report of it would repeat it.
  const replayed = new Set(fromEngine.filter((f) => f.rule.endsWith(`(${replayAnalyzer})`)).map((f) => f.file))
  findings.push(...fromEngine, ...fromSquawk, ...fromProbe.filter((f) => !(f.rule === "replay" && replayed.has(f.file))))
  const report: GateReport = { description: changes.description, checked, findings }
  return report
})

/** The report `npm run db:lint` prints. `directoryLabel` is how the directory is named in it. */
export const formatGateReport = (report: GateReport, directoryLabel: string): string => {
  const lines = [`migration gate: ${report.description}`]
  if (report.checked.length > 0) lines.push(`checked: ${report.checked.join(", ")}`)
  lines.push("")
  if (report.findings.length === 0) {
    lines.push(
      report.checked.length === 0
        ? "passed: no new migration files; atlas.sum and the directory are intact"
        : `passed: ${report.checked.length} file(s), no findings (engine migrate lint, squawk, require-lock-timeout, markers)`
    )
    return lines.join("\n")
  }
  lines.push(formatFindings(directoryLabel, report.findings))
  const files = new Set(report.findings.map((f) => f.file)).size
  lines.push(`failed: ${report.findings.length} violation(s) in ${files} file(s)`)
  lines.push("A deliberate exception needs a marker with a reason, e.g. `-- atlas:nolint DS103 -- <why it is safe>`")
  lines.push("or `-- squawk-ignore ban-drop-column -- <why it is safe>` on the line above the statement.")
  return lines.join("\n")
}
