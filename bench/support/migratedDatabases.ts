/**
 * Scratch databases for the benchmarks, migrated by the versioned path
 * (the schema engine's migrate apply) on the server of DATABASE_URL (default:
 * the local PostgreSQL as its superuser), and dropped afterwards, whatever
 * happens in between.
 */
import pg, { sql } from "@databases/pg"
import { Effect, Layer, Redacted } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Engine } from "../../cli/src/engine/Engine.ts"
import { applyMigrations } from "../../cli/src/schema/apply.ts"
import { SchemaProject } from "../../cli/src/schema/Project.ts"
import { ScratchDatabase } from "../../cli/src/schema/ScratchDatabase.ts"

/** The server the benchmarks create their databases on. */
export const serverUrl = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres"

const tools = Layer.mergeAll(
  Engine.layer,
  SchemaProject.layer,
  NodeServices.layer,
  ScratchDatabase.layerAt(Redacted.make(serverUrl))
)

/**
 * Runs `use` with one migrated database per label (their URLs, in order);
 * every one is dropped when `use` settles.
 */
export const withMigratedDatabases = <A>(
  labels: ReadonlyArray<string>,
  use: (urls: ReadonlyArray<string>) => Promise<A>
): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const scratch = yield* ScratchDatabase
        const urls: Array<string> = []
        for (const label of labels) {
          const database = yield* scratch.make(label)
          yield* applyMigrations(database.url)
          urls.push(Redacted.value(database.url))
        }
        return yield* Effect.promise(() => use(urls))
      })
    ).pipe(Effect.provide(tools))
  )

/** Drops every database and role whose name starts with `prefix` (what a bench provisioned, even after a failure half-way). */
export const dropByPrefix = async (prefix: string): Promise<void> => {
  const pool = pg.default({ connectionString: serverUrl, bigIntMode: "bigint", poolSize: 1 })
  try {
    const pattern = `${prefix}%`
    for (const { datname } of await pool.query(sql`SELECT datname FROM pg_database WHERE datname LIKE ${pattern}`)) {
      await pool.query(sql`DROP DATABASE IF EXISTS ${sql.ident(datname)} WITH (FORCE)`)
    }
    for (const { rolname } of await pool.query(sql`SELECT rolname FROM pg_roles WHERE rolname LIKE ${pattern}`)) {
      await pool.query(sql`DROP ROLE IF EXISTS ${sql.ident(rolname)}`)
    }
  } finally {
    await pool.dispose()
  }
}
