/**
 * The two ways to bring a database to the state schema.hcl describes.
 *
 * Declarative (`applyDesiredState`): Atlas plans the difference between the
 * live database and schema.hcl and applies it; then the routines (function and
 * triggers) and the seeds, which are idempotent, run on top.
 *
 * Versioned (`applyMigrations`): Atlas replays the reviewed files of
 * migrations/ that the database has not seen yet, recording each in
 * atlas_schema_revisions. This is the path for production: what runs is
 * exactly what was linted and reviewed.
 */
import { readdir, readFile } from "node:fs/promises"
import { atlas, atlasEnvName } from "./atlas.ts"
import { atlasUrl, runSql, withScratchDatabase } from "./database.ts"
import { projectFile } from "./paths.ts"
import { renderRoutines } from "./routines.ts"

/** Runs `use` with the Atlas variables for `url`: DATABASE_URL and a fresh dev database. */
export const withAtlasDatabases = <A>(url: string, use: (env: Record<string, string>) => Promise<A>): Promise<A> => {
  const devUrl = process.env["ATLAS_DEV_URL"]
  if (devUrl !== undefined && devUrl !== "") {
    return use({ DATABASE_URL: atlasUrl(url), ATLAS_DEV_URL: atlasUrl(devUrl) })
  }
  return withScratchDatabase(url, "atlas_dev", (dev) =>
    use({ DATABASE_URL: atlasUrl(url), ATLAS_DEV_URL: atlasUrl(dev.url) })
  )
}

/** The seed files, in name order. */
export const seedFiles = async (): Promise<ReadonlyArray<string>> =>
  (await readdir(projectFile("seeds"))).filter((name) => name.endsWith(".sql")).sort()

export const runSeeds = async (url: string): Promise<ReadonlyArray<string>> => {
  const files = await seedFiles()
  for (const file of files) {
    await runSql(url, await readFile(projectFile(`seeds/${file}`), "utf8"))
  }
  return files
}

/** What a run of the declarative path did. */
export interface ApplyReport {
  readonly plan: string
  readonly routines: ReadonlyArray<string>
  readonly seeds: ReadonlyArray<string>
}

export const applyDesiredState = async (url: string): Promise<ApplyReport> => {
  // The pinned Atlas plans enum types only inside an existing schema (see
  // migrations/*_create_schema.sql); creating it first is a no-op afterwards.
  await runSql(url, `CREATE SCHEMA IF NOT EXISTS "control_plane";`)
  const { stdout } = await withAtlasDatabases(url, (env) =>
    atlas(["schema", "apply", "--env", atlasEnvName(), "--auto-approve"], env)
  )
  const routines = await renderRoutines()
  await runSql(url, routines.sql)
  const seeds = await runSeeds(url)
  return {
    plan: stdout.trim(),
    routines: [...routines.functions, ...routines.triggers.map((t) => t.name)],
    seeds
  }
}

export const applyMigrations = async (url: string): Promise<string> => {
  const { stdout } = await atlas(["migrate", "apply", "--env", atlasEnvName()], { DATABASE_URL: atlasUrl(url) })
  return stdout.trim()
}
