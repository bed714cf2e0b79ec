/**
 * Once per test run: builds the migrated template every test file copies its
 * database from (testDatabase.ts), through the engine's migrate apply, and
 * drops it when the run ends, with every test database of the run.
 *
 * Test databases are dropped here, together, rather than by each file: on
 * PostgreSQL up to 18 every DROP DATABASE waits for an immediate checkpoint,
 * which flushes whatever the other files have written meanwhile (one drop
 * took 0.3 s on a quiet server, 12 s on a busy one), while drops that wait
 * together share a checkpoint. A file hands its databases over by name, as
 * empty files in a folder of the run (`testDatabasesToDrop`).
 *
 * Its name starts with a hash of atlas.sum (which covers every migration
 * file), so a database built from other migrations is never taken for it,
 * and ends with a random part, so that runs side by side on one server (other
 * checkouts, the matrix) never share or drop each other's template.
 */
import { Effect, Exit, Layer, Scope } from "effect"
import { createHash } from "node:crypto"
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import pg, { sql } from "@databases/pg"
import type { TestProject } from "vitest/node"
import { applyMigrations } from "../../cli/src/schema/apply.ts"
import { projectRoot } from "../../cli/src/schema/paths.ts"
import { ScratchDatabase } from "../../cli/src/schema/ScratchDatabase.ts"
import { adminUrl, schemaTools } from "./schemaTools.ts"

/** Drops the named databases, eight at a time (each group shares its checkpoints). */
const dropAll = async (names: ReadonlyArray<string>): Promise<void> => {
  const db = pg.default({ connectionString: adminUrl(), bigIntMode: "bigint", poolSize: 8 })
  try {
    await Promise.all(names.map((name) => db.query(sql`DROP DATABASE IF EXISTS ${sql.ident(name)} WITH (FORCE)`)))
  } finally {
    await db.dispose()
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    /** The name of the run's migrated template database. */
    migratedTemplate: string
    /** The folder where test files name the databases the run drops at its end. */
    testDatabasesToDrop: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const sum = await readFile(path.join(projectRoot, "migrations", "atlas.sum"), "utf8")
  const hash = createHash("sha256").update(sum).digest("hex").slice(0, 12)
  const scope = Effect.runSync(Scope.make())
  const template = await Effect.runPromise(
    Effect.gen(function*() {
      const scratch = yield* ScratchDatabase
      const database = yield* scratch.make(`cp_template_${hash}`)
      yield* applyMigrations(database.url)
      return database.name
    }).pipe(Scope.provide(scope), Effect.provide(schemaTools() as Layer.Layer<Layer.Success<ReturnType<typeof schemaTools>>>))
  )
  project.provide("migratedTemplate", template)
  const toDrop = await mkdtemp(path.join(tmpdir(), "cp-test-databases-"))
  project.provide("testDatabasesToDrop", toDrop)
  return async () => {
    try {
      await dropAll(await readdir(toDrop))
    } finally {
      await rm(toDrop, { recursive: true, force: true })
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}
