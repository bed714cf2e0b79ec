/**
 * `npm run db:routines [-- --project tenant]`: writes the function and
 * triggers of routines.hcl as a new migration when the newest routines
 * migration no longer matches them, then re-hashes atlas.sum. Run it after
 * editing routines.hcl. `--project tenant` does the same for the tenant
 * template (tenant/routines.hcl into tenant/migrations/).
 */
import { readdir, readFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { atlas, atlasEnvName } from "../atlas.ts"
import { projectFile, projectRoot } from "../paths.ts"
import { renderRoutinesMigration, routinesMigrationSuffix } from "../routines.ts"
import { runScript, UsageError } from "./common.ts"

const timestamp = (now: Date): string => now.toISOString().replace(/[-:T]/g, "").slice(0, 14)

const usage = "usage: npm run db:routines [-- --project tenant]"

/** The project folder: the repository root, or tenant/ with `--project tenant`. */
const projectFolder = (args: ReadonlyArray<string>): string => {
  if (args.length === 0) return projectRoot
  if (args.length === 2 && args[0] === "--project" && args[1] === "tenant") return projectFile("tenant")
  throw new UsageError(usage)
}

runScript(async () => {
  const root = projectFolder(process.argv.slice(2))
  const migrations = path.join(root, "migrations")
  const label = path.relative(projectRoot, migrations)
  const wanted = await renderRoutinesMigration(root)
  const existing = (await readdir(migrations)).filter((f) => f.endsWith(routinesMigrationSuffix)).sort()
  const newest = existing.at(-1)
  if (newest !== undefined && (await readFile(path.join(migrations, newest), "utf8")) === wanted) {
    console.log(`${label}/${newest} already matches routines.hcl`)
    return
  }
  const file = `${timestamp(new Date())}${routinesMigrationSuffix}`
  await writeFile(path.join(migrations, file), wanted)
  await atlas(["migrate", "hash", "--env", atlasEnvName(), "--dir", `file://${migrations}`])
  console.log(`wrote ${label}/${file} and re-hashed atlas.sum`)
})
