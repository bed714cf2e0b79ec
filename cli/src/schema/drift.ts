/**
 * Drift detection (`control-plane db drift`, `npm run db:drift`): does a live
 * control-plane database still match the desired state?
 *
 *   - Tables, columns, enums, indexes, keys, comments of `control_plane`:
 *     the engine's `schema diff` from the live database to schema.hcl (on a
 *     scratch dev database). Its plan, the statements that would bring the
 *     database back, is the difference. Other schemas (public,
 *     atlas_schema_revisions) are not ours and are not compared.
 *   - The function and triggers of routines.hcl, which the engine does not
 *     inspect: `pg_get_functiondef` / `pg_get_triggerdef` (and whether the
 *     trigger is enabled) of everything in `control_plane`, live against a
 *     scratch database brought to the desired state by `applyDesiredState`.
 *
 * The live database is only read; the scratch databases live on the
 * scratch-database server (see ScratchDatabase.ts) and are dropped afterwards.
 */
import { Effect, Redacted } from "effect"
import { Engine, type Change } from "../engine/Engine.ts"
import { applyDesiredState } from "./apply.ts"
import { queryRows } from "./postgres.ts"
import { SchemaProject } from "./Project.ts"
import { ScratchDatabase } from "./ScratchDatabase.ts"

export type RoutineKind = "function" | "trigger"

export interface RoutineDrift {
  readonly kind: RoutineKind
  /** `name(arguments)` for a function, `table.trigger` for a trigger. */
  readonly name: string
  readonly problem: "missing" | "unexpected" | "different"
  /** Definition lines only the desired state has (for "different"). */
  readonly expectedOnly: ReadonlyArray<string>
  /** Definition lines only the live database has (for "different"). */
  readonly actualOnly: ReadonlyArray<string>
}

export interface DriftReport {
  /** The live database's name (never its URL). */
  readonly database: string
  /** The statements that would bring the tables back to schema.hcl; empty when they match. */
  readonly tableChanges: ReadonlyArray<Change>
  readonly routines: ReadonlyArray<RoutineDrift>
}

export const hasDrift = (report: DriftReport): boolean => report.tableChanges.length > 0 || report.routines.length > 0

type Definitions = ReadonlyMap<string, string>

interface Routines {
  readonly functions: Definitions
  readonly triggers: Definitions
}

const readRoutines = (url: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const functions = yield* queryRows<{ name: string; definition: string }>(url, `
      SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS name,
             pg_get_functiondef(p.oid) AS definition
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'control_plane' AND p.prokind IN ('f', 'p')`)
    const triggers = yield* queryRows<{ name: string; definition: string }>(url, `
      SELECT c.relname || '.' || t.tgname AS name,
             pg_get_triggerdef(t.oid) || CASE t.tgenabled WHEN 'D' THEN ' -- disabled' ELSE '' END AS definition
      FROM pg_trigger t
      JOIN pg_class c ON c.oid = t.tgrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'control_plane' AND NOT t.tgisinternal`)
    const toMap = (rows: ReadonlyArray<{ name: string; definition: string }>): Definitions =>
      new Map(rows.map((row) => [row.name, row.definition.trim()]))
    const routines: Routines = { functions: toMap(functions), triggers: toMap(triggers) }
    return routines
  })

const compare = (kind: RoutineKind, expected: Definitions, actual: Definitions): ReadonlyArray<RoutineDrift> => {
  const drift: Array<RoutineDrift> = []
  const names = [...new Set([...expected.keys(), ...actual.keys()])].sort()
  for (const name of names) {
    const want = expected.get(name)
    const have = actual.get(name)
    if (want === have) continue
    if (have === undefined) drift.push({ kind, name, problem: "missing", expectedOnly: [], actualOnly: [] })
    else if (want === undefined) drift.push({ kind, name, problem: "unexpected", expectedOnly: [], actualOnly: [] })
    else {
      const wantLines = want.split("\n")
      const haveLines = have.split("\n")
      drift.push({
        kind,
        name,
        problem: "different",
        expectedOnly: wantLines.filter((line) => !haveLines.includes(line)),
        actualOnly: haveLines.filter((line) => !wantLines.includes(line))
      })
    }
  }
  return drift
}

/** The routines the desired state has: a scratch database brought there the declarative way. */
const desiredRoutines = Effect.gen(function*() {
  const scratch = yield* ScratchDatabase
  return yield* Effect.scoped(
    Effect.flatMap(scratch.make("cp_drift_desired"), (desired) =>
      Effect.andThen(applyDesiredState(desired.url), readRoutines(desired.url)))
  )
})

/** The tables' difference: the engine's diff from the live database to schema.hcl. */
const tableChanges = (url: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const project = yield* SchemaProject
    const engine = yield* Engine
    const scratch = yield* ScratchDatabase
    return yield* Effect.scoped(
      Effect.flatMap(scratch.make("cp_drift_dev"), (dev) => engine.schemaDiff(project, { url, devUrl: dev.url }))
    )
  })

/** Compares the database at `url` with schema.hcl and routines.hcl. */
export const detectDrift = Effect.fn("detectDrift")(function*(url: Redacted.Redacted<string>) {
  const database = decodeURIComponent(new URL(Redacted.value(url)).pathname.replace(/^\//, ""))
  const [diff, expected, actual] = yield* Effect.all([tableChanges(url), desiredRoutines, readRoutines(url)], {
    concurrency: "unbounded"
  })
  const report: DriftReport = {
    database,
    tableChanges: diff.changes,
    routines: [...compare("function", expected.functions, actual.functions), ...compare("trigger", expected.triggers, actual.triggers)]
  }
  return report
})

const describeRoutine = (drift: RoutineDrift): ReadonlyArray<string> => {
  const head = `  ${drift.kind} control_plane.${drift.name}: `
  switch (drift.problem) {
    case "missing":
      return [`${head}missing from the database`]
    case "unexpected":
      return [`${head}in the database but not in routines.hcl`]
    case "different":
      return [
        `${head}differs from routines.hcl`,
        ...drift.expectedOnly.map((line) => `    - ${line}`),
        ...drift.actualOnly.map((line) => `    + ${line}`)
      ]
  }
}

/** The report `npm run db:drift` prints. */
export const formatDriftReport = (report: DriftReport): string => {
  if (!hasDrift(report)) {
    return `no drift: database "${report.database}" matches schema.hcl and routines.hcl`
  }
  const lines = [`drift: database "${report.database}" differs from the desired state`, ""]
  if (report.tableChanges.length > 0) {
    lines.push(
      "tables (schema.hcl): the statements that would bring the database back",
      ...report.tableChanges.flatMap((change) => [`  -- ${change.comment}`, `  ${change.sql};`]),
      ""
    )
  }
  if (report.routines.length > 0) {
    lines.push("routines (routines.hcl): - desired, + live", ...report.routines.flatMap(describeRoutine), "")
  }
  lines.push("Fix it with a reviewed migration (npm run db:diff) or, for a scratch database, npm run db:apply.")
  return lines.join("\n")
}
