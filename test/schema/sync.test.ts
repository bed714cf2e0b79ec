/**
 * The migration directory is the reviewed image of schema.hcl, routines.hcl
 * and seeds/: nothing may drift between them.
 */
import { cp, mkdtemp, readdir, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { atlas, atlasEnvName } from "../../cli/src/schema/atlas.ts"
import { withAtlasDatabases } from "../../cli/src/schema/apply.ts"
import { projectFile } from "../../cli/src/schema/paths.ts"
import { renderRoutinesMigration, routinesMigrationSuffix } from "../../cli/src/schema/routines.ts"
import { adminUrl } from "../support/testDatabase.ts"

let scratchDir: string

beforeAll(async () => {
  scratchDir = await mkdtemp(path.join(tmpdir(), "cp-migrations-"))
  await cp(projectFile("migrations"), scratchDir, { recursive: true })
})

afterAll(async () => {
  await rm(scratchDir, { recursive: true, force: true })
})

const migrationFiles = async (): Promise<ReadonlyArray<string>> =>
  (await readdir(projectFile("migrations"))).filter((f) => f.endsWith(".sql")).sort()

describe("migrations/ stays in sync", () => {
  it("atlas.sum matches the files (atlas migrate validate)", async () => {
    await withAtlasDatabases(adminUrl(), (env) => atlas(["migrate", "validate", "--env", atlasEnvName()], env))
  })

  it("a fresh `atlas migrate diff` against schema.hcl plans nothing", async () => {
    const { stdout } = await withAtlasDatabases(adminUrl(), (env) =>
      atlas(["migrate", "diff", "--env", atlasEnvName(), "--dir", `file://${scratchDir}`], env)
    )
    expect(stdout).toMatch(/no changes to be made/)
    expect((await readdir(scratchDir)).sort()).toEqual([...(await migrationFiles()), "atlas.sum"].sort())
  })

  it("the newest routines migration is exactly routines.hcl rendered", async () => {
    const routines = (await migrationFiles()).filter((f) => f.endsWith(routinesMigrationSuffix))
    expect(routines.length).toBeGreaterThan(0)
    const newest = await readFile(projectFile(`migrations/${routines.at(-1)}`), "utf8")
    expect(newest).toBe(await renderRoutinesMigration())
  })

  it("the seed migration is exactly the seed file the declarative path runs", async () => {
    const [seedMigration] = (await migrationFiles()).filter((f) => f.endsWith("_seed_system_admin.sql"))
    expect(seedMigration).toBeDefined()
    expect(await readFile(projectFile(`migrations/${seedMigration}`), "utf8")).toBe(
      await readFile(projectFile("seeds/001_system_admin.sql"), "utf8")
    )
  })
})
