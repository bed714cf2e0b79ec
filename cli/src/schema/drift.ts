/**
 * Drift detection (`npm run db:drift`): does a live control-plane database
 * still match the desired state?
 *
 *   - Tables, columns, enums, indexes, keys, comments of `control_plane`:
 *     `atlas schema diff` from the live database to schema.hcl (on a scratch
 *     dev database). Its plan, the statements that would bring the database
 *     back, is the difference. Other schemas (public, atlas_schema_revisions)
 *     are not ours and are not compared.
 *   - The function and triggers of routines.hcl, which the community build of
 *     Atlas does not inspect: `pg_get_functiondef` / `pg_get_triggerdef` (and
 *     whether the trigger is enabled) of everything in `control_plane`, live
 *     against a scratch database brought to the desired state by
 *     `applyDesiredState`.
 *
 * The live database is only read. Scratch databases are created beside it,
 * so its role needs CREATEDB (as for db:apply), and dropped afterwards.
 */
import { sql } from "@databases/pg"
import { applyDesiredState } from "./apply.ts"
import { atlas, atlasEnvName } from "./atlas.ts"
import { atlasUrl, withConnection, withScratchDatabase } from "./database.ts"
import { projectFile } from "./paths.ts"

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
  /** Atlas's plan from the live database to schema.hcl; empty when the tables match. */
  readonly tablePlan: string
  readonly routines: ReadonlyArray<RoutineDrift>
}

export const hasDrift = (report: DriftReport): boolean => report.tablePlan !== "" || report.routines.length > 0

/**
 * Splits the password off a URL, so that it reaches Atlas (lib/pq) through
 * PGPASSWORD rather than the command line, where `ps` would show it.
 */
const forCommandLine = (url: string): { readonly url: string; readonly env: Record<string, string> } => {
  const parsed = new URL(atlasUrl(url))
  const password = decodeURIComponent(parsed.password)
  parsed.password = ""
  return { url: parsed.toString(), env: password === "" ? {} : { PGPASSWORD: password } }
}

const tablePlan = (url: string): Promise<string> =>
  withScratchDatabase(url, "cp_drift_dev", async (dev) => {
    const live = forCommandLine(url)
    const { stdout } = await atlas(
      [
        "schema", "diff", "--env", atlasEnvName(),
        "--from", live.url,
        "--to", `file://${projectFile("schema.hcl")}`,
        "--schema", "control_plane",
        "--format", '{{ sql . "  " }}'
      ],
      { ...live.env, ATLAS_DEV_URL: atlasUrl(dev.url) }
    )
    return stdout.trim()
  })

type Definitions = ReadonlyMap<string, string>

interface Routines {
  readonly functions: Definitions
  readonly triggers: Definitions
}

const readRoutines = (url: string): Promise<Routines> =>
  withConnection(url, async (db) => {
    const functions = await db.query(sql`
      SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS name,
             pg_get_functiondef(p.oid) AS definition
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'control_plane' AND p.prokind IN ('f', 'p')`)
    const triggers = await db.query(sql`
      SELECT c.relname || '.' || t.tgname AS name,
             pg_get_triggerdef(t.oid) || CASE t.tgenabled WHEN 'D' THEN ' -- disabled' ELSE '' END AS definition
      FROM pg_trigger t
      JOIN pg_class c ON c.oid = t.tgrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'control_plane' AND NOT t.tgisinternal`)
    const toMap = (rows: ReadonlyArray<{ name: string; definition: string }>): Definitions =>
      new Map(rows.map((row) => [row.name, row.definition.trim()]))
    return { functions: toMap(functions), triggers: toMap(triggers) }
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
const desiredRoutines = (url: string): Promise<Routines> =>
  withScratchDatabase(url, "cp_drift_desired", async (desired) => {
    await applyDesiredState(desired.url)
    return readRoutines(desired.url)
  })

/** Compares the database at `url` with schema.hcl and routines.hcl. */
export const detectDrift = async (url: string): Promise<DriftReport> => {
  const database = decodeURIComponent(new URL(url).pathname.replace(/^\//, ""))
  // One after the other: applyDesiredState may share ATLAS_DEV_URL with the table diff.
  const plan = await tablePlan(url)
  const expected = await desiredRoutines(url)
  const actual = await readRoutines(url)
  return {
    database,
    tablePlan: plan,
    routines: [...compare("function", expected.functions, actual.functions), ...compare("trigger", expected.triggers, actual.triggers)]
  }
}

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
  if (report.tablePlan !== "") {
    lines.push(
      "tables (schema.hcl): the statements that would bring the database back",
      ...report.tablePlan.split("\n").map((line) => `  ${line}`),
      ""
    )
  }
  if (report.routines.length > 0) {
    lines.push("routines (routines.hcl): - desired, + live", ...report.routines.flatMap(describeRoutine), "")
  }
  lines.push("Fix it with a reviewed migration (npm run db:diff) or, for a scratch database, npm run db:apply.")
  return lines.join("\n")
}
