/**
 * Databases for tests: every test file works in databases of its own, created
 * on the scratch-database server (CONTROL_PLANE_ADMIN_URL, the local server
 * by default). `drop` hands one to the run, which drops them all together when
 * it ends (globalSetup.ts says why); a file's own databases are never reused.
 *
 * A migrated database is a copy of the run's template (`CREATE DATABASE ...
 * TEMPLATE`), which globalSetup.ts built once through the engine's migrate
 * apply: copying takes a fraction of replaying migrations/ per file. Tests
 * that must exercise the paths themselves start from an empty database.
 */
import pg, { sql } from "@databases/pg"
import type { ConnectionPool } from "@databases/pg"
import { Context, Effect, Layer } from "effect"
import { randomBytes } from "node:crypto"
import { writeFileSync } from "node:fs"
import path from "node:path"
import { inject } from "vitest"
import { adminUrl } from "./schemaTools.ts"

export { adminUrl } from "./schemaTools.ts"

export interface TestDatabase {
  readonly name: string
  readonly url: string
  /** Done with it: the run drops it at its end, with the others (see globalSetup.ts). */
  readonly drop: () => Promise<void>
}

/** The migrated template of this run (globalSetup.ts). */
export const migratedTemplate = (): string => inject("migratedTemplate")

/** A database cp_test_<label>_<random>, empty or a copy of `template`, dropped when the run ends. */
const create = async (label: string, template?: string): Promise<TestDatabase> => {
  const name = `cp_test_${label}_${randomBytes(5).toString("hex")}`
  // Named before it exists, so that a file that dies half-way leaves nothing behind either.
  writeFileSync(path.join(inject("testDatabasesToDrop"), name), "")
  await withConnection(adminUrl(), (db) =>
    db.query(template === undefined ? sql`CREATE DATABASE ${sql.ident(name)}` : sql`CREATE DATABASE ${sql.ident(name)} TEMPLATE ${sql.ident(template)}`))
  return { name, url: siblingUrl(adminUrl(), name), drop: () => Promise.resolve() }
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
