/**
 * Once per test run: builds the migrated template every test file copies its
 * database from (testDatabase.ts), through the engine's migrate apply, and
 * drops it when the run ends.
 *
 * Its name starts with a hash of atlas.sum (which covers every migration
 * file), so a database built from other migrations is never taken for it,
 * and ends with a random part, so that runs side by side on one server (other
 * checkouts, the matrix) never share or drop each other's template.
 */
import { Effect, Exit, Layer, Scope } from "effect"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import path from "node:path"
import type { TestProject } from "vitest/node"
import { applyMigrations } from "../../cli/src/schema/apply.ts"
import { projectRoot } from "../../cli/src/schema/paths.ts"
import { ScratchDatabase } from "../../cli/src/schema/ScratchDatabase.ts"
import { schemaTools } from "./schemaTools.ts"

declare module "vitest" {
  export interface ProvidedContext {
    /** The name of the run's migrated template database. */
    migratedTemplate: string
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
  return () => Effect.runPromise(Scope.close(scope, Exit.void))
}
