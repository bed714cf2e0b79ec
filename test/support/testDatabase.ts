/**
 * Databases for tests: every test file works in databases of its own, created
 * on the local server from the admin URL and dropped when the file is done.
 *
 *   CONTROL_PLANE_TEST_ADMIN_URL  a role that may CREATE DATABASE
 *                                 (default postgres://postgres@127.0.0.1:5432/postgres)
 */
import { Context, Effect, Layer } from "effect"
import { createScratchDatabase, dropDatabase } from "../../cli/src/schema/database.ts"
import { applyMigrations } from "../../cli/src/schema/apply.ts"

export const adminUrl = (): string =>
  process.env["CONTROL_PLANE_TEST_ADMIN_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres"

export interface TestDatabase {
  readonly name: string
  readonly url: string
  readonly drop: () => Promise<void>
}

/** An empty database named cp_test_<label>_<random>. */
export const createTestDatabase = async (label: string): Promise<TestDatabase> => {
  const admin = adminUrl()
  const { name, url } = await createScratchDatabase(admin, `cp_test_${label}`)
  return { name, url, drop: () => dropDatabase(admin, name) }
}

/** A database brought to the current schema by the versioned path (migrations/). */
export const createMigratedTestDatabase = async (label: string): Promise<TestDatabase> => {
  const database = await createTestDatabase(label)
  try {
    await applyMigrations(database.url)
    return database
  } catch (error) {
    await database.drop()
    throw error
  }
}

/** The migrated test database as an Effect service, for `it.layer(MigratedDatabase.layer(label))`. */
export class MigratedDatabase extends Context.Service<MigratedDatabase, TestDatabase>()("test/MigratedDatabase") {
  static readonly layer = (label: string) =>
    Layer.effect(
      MigratedDatabase,
      Effect.acquireRelease(
        Effect.promise(() => createMigratedTestDatabase(label)),
        (database) => Effect.promise(() => database.drop())
      )
    )
}
