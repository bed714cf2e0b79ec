/**
 * `npm run db:diff -- <name>`: writes the migration that brings migrations/ to
 * the state of schema.hcl, made safe by default, then the routines migration
 * when routines.hcl changed, and re-hashes atlas.sum.
 *
 * Atlas plans on a scratch dev database created on the local server (see
 * gate/server.ts; ATLAS_DEV_URL, when set, is used instead). Every file it
 * writes then gets
 *   - `SET lock_timeout = '5s';` first, so that a statement waiting for a lock
 *     behind a long transaction gives up instead of blocking the table
 *     (the gate's require-lock-timeout);
 *   - the `-- atlas:txmode none` directive when it builds or drops an index
 *     CONCURRENTLY (atlas.hcl asks for that on existing tables), which
 *     PostgreSQL refuses inside a transaction. The pinned Atlas v0.13.1 does
 *     not add the directive itself.
 */
import { execFile } from "node:child_process"
import { readFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { promisify } from "node:util"
import { atlas, atlasEnvName } from "./atlas.ts"
import { atlasUrl, withScratchDatabase } from "./database.ts"
import { migrationFiles } from "./gate/changes.ts"
import { fileDirective } from "./gate/squawk.ts"
import { projectFile, projectRoot } from "./paths.ts"

const run = promisify(execFile)

/** The lock_timeout every generated migration starts with. */
export const generatedLockTimeout = "5s"

/** Thrown for a migration name Atlas would not take as part of a file name. */
export class InvalidMigrationName extends Error {}

const namePattern = /^[a-z][a-z0-9_]{0,62}$/

export interface DiffOptions {
  /** verb_noun, e.g. add_region_to_tenant_databases. */
  readonly name: string
  /** Where the scratch dev database is created (unless ATLAS_DEV_URL is set). */
  readonly adminUrl: string
  /** The migration directory (default: the project's migrations/). */
  readonly directory?: string
  /** The desired state (default: the project's schema.hcl). */
  readonly desiredState?: string
}

export interface DiffResult {
  /** The files written, in version order. */
  readonly written: ReadonlyArray<string>
  /** What the routines step said, when it ran (only for the project's own directory). */
  readonly routines: string | undefined
}

/** Adds the lock_timeout and, for CONCURRENTLY, the txmode directive to a file Atlas generated. */
export const makeSafe = (generated: string): string => {
  const needsNoTransaction = /\bCONCURRENTLY\b/i.test(generated) && !fileDirective(generated, "txmode").includes("none")
  const header = [
    ...(needsNoTransaction
      ? ["-- atlas:txmode none", "", "-- CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction."]
      : []),
    "-- Give up instead of queueing every reader and writer behind a lock this file waits for.",
    `SET lock_timeout = '${generatedLockTimeout}';`
  ]
  return `${header.join("\n")}\n${generated}`
}

/** Waits until the clock's second is past `version` (YYYYMMDDHHMMSS), so the next file gets a version of its own. */
const waitPastVersion = async (version: string): Promise<void> => {
  const now = () => new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14)
  while (now() <= version) await new Promise((resolve) => setTimeout(resolve, 200))
}

const withDevDatabase = <A>(adminUrl: string, use: (devUrl: string) => Promise<A>): Promise<A> => {
  const given = process.env["ATLAS_DEV_URL"]
  if (given !== undefined && given !== "") return use(atlasUrl(given))
  return withScratchDatabase(adminUrl, "cp_diff_dev", (dev) => use(atlasUrl(dev.url)))
}

export const generateMigration = async (options: DiffOptions): Promise<DiffResult> => {
  if (!namePattern.test(options.name)) {
    throw new InvalidMigrationName(
      `migration name "${options.name}" must be lower-case letters, digits and underscores, starting with a letter (e.g. add_region_to_tenant_databases)`
    )
  }
  const directory = options.directory ?? projectFile("migrations")
  const dirUrl = `file://${directory}`
  const before = new Set(await migrationFiles(directory))
  await withDevDatabase(options.adminUrl, (devUrl) =>
    atlas(
      ["migrate", "diff", options.name, "--env", atlasEnvName(), "--dir", dirUrl, "--to", `file://${options.desiredState ?? projectFile("schema.hcl")}`],
      { ATLAS_DEV_URL: devUrl }
    )
  )
  const generated = (await migrationFiles(directory)).filter((file) => !before.has(file))
  for (const file of generated) {
    const target = path.join(directory, file)
    await writeFile(target, makeSafe(await readFile(target, "utf8")))
  }
  let routines: string | undefined
  if (path.resolve(directory) === path.resolve(projectFile("migrations"))) {
    // The community build does not plan functions or triggers: the routines
    // script writes their migration when routines.hcl changed (and says so
    // when it did not). Its file must come after the one just generated.
    const newest = (await migrationFiles(directory)).at(-1)
    if (newest !== undefined) await waitPastVersion(newest.slice(0, 14))
    const { stdout } = await run(process.execPath, [projectFile("src/schema/cli/routines.ts")], { cwd: projectRoot })
    routines = stdout.trim()
  }
  await atlas(["migrate", "hash", "--env", atlasEnvName(), "--dir", dirUrl])
  const written = (await migrationFiles(directory)).filter((file) => !before.has(file))
  return { written, routines }
}
