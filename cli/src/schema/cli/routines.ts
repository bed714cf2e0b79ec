/**
 * `npm run db:routines`: writes the function and triggers of routines.hcl as a
 * new migration when the newest routines migration no longer matches them, then
 * re-hashes atlas.sum. Run it after editing routines.hcl.
 */
import { readdir, readFile, writeFile } from "node:fs/promises"
import { atlas, atlasEnvName } from "../atlas.ts"
import { projectFile } from "../paths.ts"
import { renderRoutinesMigration, routinesMigrationSuffix } from "../routines.ts"
import { runScript } from "./common.ts"

const timestamp = (now: Date): string => now.toISOString().replace(/[-:T]/g, "").slice(0, 14)

runScript(async () => {
  const wanted = await renderRoutinesMigration()
  const existing = (await readdir(projectFile("migrations"))).filter((f) => f.endsWith(routinesMigrationSuffix)).sort()
  const newest = existing.at(-1)
  if (newest !== undefined && (await readFile(projectFile(`migrations/${newest}`), "utf8")) === wanted) {
    console.log(`migrations/${newest} already matches routines.hcl`)
    return
  }
  const file = `migrations/${timestamp(new Date())}${routinesMigrationSuffix}`
  await writeFile(projectFile(file), wanted)
  await atlas(["migrate", "hash", "--env", atlasEnvName()])
  console.log(`wrote ${file} and re-hashed atlas.sum`)
})
