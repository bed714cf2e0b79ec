/**
 * The migration directory is the reviewed image of schema.hcl, routines.hcl
 * and seeds/: nothing may drift between them.
 */
import { Effect } from "effect"
import { readdir, readFile } from "node:fs/promises"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Engine } from "../../cli/src/engine/Engine.ts"
import { migrationFiles } from "../../cli/src/schema/gate/changes.ts"
import { projectFile } from "../../cli/src/schema/paths.ts"
import { SchemaProject } from "../../cli/src/schema/Project.ts"
import { renderRoutinesMigration, routinesMigrationSuffix } from "../../cli/src/schema/routines.ts"
import { ScratchDatabase } from "../../cli/src/schema/ScratchDatabase.ts"
import { scratchProject, type ScratchProject } from "../gate/scratch.ts"
import { runTools } from "../support/schemaTools.ts"

let scratch: ScratchProject

beforeAll(async () => {
  scratch = await scratchProject("sync")
})

afterAll(async () => {
  await scratch?.remove()
})

const projectMigrations = () => runTools(migrationFiles(projectFile("migrations")))

/** Runs an engine verb that needs a dev database, on the project in `root`. */
const withDev = <A>(root: string | undefined, use: (engine: typeof Engine.Service, devUrl: ScratchDevUrl) => Effect.Effect<A, unknown, SchemaProject>) =>
  runTools(
    Effect.scoped(
      Effect.gen(function*() {
        const engine = yield* Engine
        const dev = yield* (yield* ScratchDatabase).make("cp_test_sync_dev")
        return yield* use(engine, dev.url)
      })
    ),
    root
  )
type ScratchDevUrl = Effect.Success<ReturnType<typeof ScratchDatabase.Service.make>>["url"]

describe("migrations/ stays in sync", () => {
  it("atlas.sum matches the files, and every file replays (migrate validate)", async () => {
    const result = await withDev(undefined, (engine, devUrl) =>
      SchemaProject.use((project) => engine.migrateValidate(project, { devUrl })))
    expect(result).toEqual({ valid: true, files: (await projectMigrations()).length })
  })

  it("a fresh migrate diff against schema.hcl plans nothing", async () => {
    const result = await withDev(scratch.root, (engine, devUrl) =>
      SchemaProject.use((project) => engine.migrateDiff(project, "nothing", { devUrl })))
    expect(result.written).toEqual([])
    expect((await readdir(scratch.directory)).sort()).toEqual([...(await projectMigrations()), "atlas.sum"].sort())
  })

  it("the newest routines migration is exactly routines.hcl rendered", async () => {
    const routines = (await projectMigrations()).filter((f) => f.endsWith(routinesMigrationSuffix))
    expect(routines.length).toBeGreaterThan(0)
    const newest = await readFile(projectFile(`migrations/${routines.at(-1)}`), "utf8")
    expect(newest).toBe(await runTools(renderRoutinesMigration()))
  })

  it("the seed migration is exactly the seed file the declarative path runs", async () => {
    const [seedMigration] = (await projectMigrations()).filter((f) => f.endsWith("_seed_system_admin.sql"))
    expect(seedMigration).toBeDefined()
    expect(await readFile(projectFile(`migrations/${seedMigration}`), "utf8")).toBe(
      await readFile(projectFile("seeds/001_system_admin.sql"), "utf8")
    )
  })
})
