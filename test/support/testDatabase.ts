/**
 * Databases for tests: every test file works in databases of its own, created
 * on the scratch-database server (CONTROL_PLANE_ADMIN_URL, the local server
 * by default) and dropped when the file is done.
 *
 * A migrated database is a copy of the run's template (`CREATE DATABASE ...
 * TEMPLATE`), which globalSetup.ts built once through the engine's migrate
 * apply: copying takes a fraction of replaying migrations/ per file. Tests
 * that must exercise the paths themselves start from an empty database.
 */
import pg, { sql } from "@databases/pg"
import type { ConnectionPool } from "@databases/pg"
import { Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { inject } from "vitest"
import { makeScratchDatabase } from "../../cli/src/schema/ScratchDatabase.ts"
import { adminUrl } from "./schemaTools.ts"

export { adminUrl } from "./schemaTools.ts"

export interface TestDatabase {
  readonly name: string
  readonly url: string
  readonly drop: () => Promise<void>
}

const scratch = () => makeScratchDatabase(Redacted.make(adminUrl()))

/** The migrated template of this run (globalSetup.ts). */
export const migratedTemplate = (): string => inject("migratedTemplate")

/** A scratch database whose scope (and so its drop) is the caller's to close. */
const create = async (label: string, template?: string): Promise<TestDatabase> => {
  const scope = Effect.runSync(Scope.make())
  const { name, url } = await Effect.runPromise(
    scratch().make(`cp_test_${label}`, template === undefined ? {} : { template }).pipe(Scope.provide(scope))
  )
  return { name, url: Redacted.value(url), drop: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** An empty database named cp_test_<label>_<random>. */
export const createTestDatabase = (label: string): Promise<TestDatabase> => create(label)

/** A database at the current schema: a copy of the run's migrated template. */
export const createMigratedTestDatabase = (label: string): Promise<TestDatabase> => create(label, migratedTemplate())

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

/** Opens a one-connection pool on the URL, runs `use`, and always closes it (plain SQL in tests). */
export const withConnection = async <A>(url: string, use: (db: ConnectionPool) => Promise<A>): Promise<A> => {
  const db = pg.default({ connectionString: url, bigIntMode: "bigint", poolSize: 1 })
  try {
    return await use(db)
  } finally {
    await db.dispose()
  }
}

/** Runs a script of SQL statements on `url` (plain SQL in tests). */
export const runSql = (url: string, script: string): Promise<unknown> =>
  withConnection(url, (db) => db.query(sql.__dangerous__rawValue(script)))

/** The URL of another database on the same server, with the same credentials and options. */
export const siblingUrl = (url: string, database: string): string => {
  const parsed = new URL(url)
  parsed.pathname = `/${encodeURIComponent(database)}`
  return parsed.toString()
}
