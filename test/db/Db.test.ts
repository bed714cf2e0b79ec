/**
 * The Db service against the real PostgreSQL: queries, transactions (commit,
 * rollback on failure and on interruption, savepoints), driver errors mapped
 * to DbError reasons, timeouts, a lost connection, a bad URL, and the pool's
 * lifetime following the layer's scope.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Redacted } from "effect"
import { createServer } from "node:net"
import type { Server, Socket } from "node:net"
import { DatabaseConfig } from "../../src/db/DatabaseConfig.ts"
import type { DatabaseSettings } from "../../src/db/DatabaseConfig.ts"
import { Db, sql } from "../../src/db/Db.ts"
import type { DbError } from "../../src/domain/errors.ts"
import { withConnection } from "../support/testDatabase.ts"
import { MigratedDatabase } from "../support/testDatabase.ts"
import { testDbLayer } from "./testDb.ts"

const uniqueName = (label: string) => `db-test-${label}-${crypto.randomUUID()}`

const insertTenant = (name: string) =>
  Db.use((db) =>
    db.query<{ tenant_id: string }>(
      sql`INSERT INTO control_plane.tenants (name, environment, status) VALUES (${name}, 'development', 'pending') RETURNING tenant_id`
    )
  )

const countTenantsNamed = (name: string) =>
  Db.use((db) => db.query<{ n: bigint }>(sql`SELECT count(*) AS n FROM control_plane.tenants WHERE name = ${name}`)).pipe(
    Effect.map((rows) => Number(rows[0]?.n))
  )

/** What a DbError shows anyone: it must name no SQL, value or URL. */
const assertShowsNoInternals = (error: DbError, ...values: ReadonlyArray<string>) => {
  const shown = [error.message, String(error), JSON.stringify(error)].join("\n")
  for (const leak of ["INSERT", "SELECT", "control_plane.", "postgres://", "127.0.0.1", ...values]) {
    assert.notInclude(shown, leak)
  }
}

/** Runs SQL on a connection of its own, outside the pool under test. */
const bareQuery = <Row>(url: string, query: ReturnType<typeof sql>) =>
  Effect.promise(() => withConnection(url, (db) => db.query(query) as Promise<Array<Row>>))

it.layer(testDbLayer("db"), { timeout: "120 seconds" })("Db", (it) => {
  it.effect("query gives the rows, typed by the caller", () =>
    Effect.gen(function*() {
      const db = yield* Db
      const rows = yield* db.query<{ name: string; environment: string }>(
        sql`SELECT name, environment FROM control_plane.tenants WHERE name = 'system_admin'`
      )
      assert.deepStrictEqual(rows, [{ name: "system_admin", environment: "production" }])
    }))

  it.effect("a duplicate is a UniqueViolation naming the constraint, not the value", () =>
    Effect.gen(function*() {
      const name = uniqueName("dup")
      yield* insertTenant(name)
      const error = yield* Effect.flip(insertTenant(name))
      assert.strictEqual(error._tag, "DbError")
      assert.strictEqual(error.reason._tag, "UniqueViolation")
      assert.strictEqual(error.reason._tag === "UniqueViolation" ? error.reason.constraint : "", "tenants_name_key")
      assertShowsNoInternals(error, name)
    }))

  it.effect("a missing parent row is a ForeignKeyViolation", () =>
    Effect.gen(function*() {
      const db = yield* Db
      const error = yield* Effect.flip(
        db.query(sql`
          INSERT INTO control_plane.tenant_databases (tenant_id, connection_string_encrypted, database_name, host, status)
          VALUES (${crypto.randomUUID()}, 'v1:k:x', 'd', 'h', 'active')`)
      )
      assert.strictEqual(error.reason._tag, "ForeignKeyViolation")
      assert.strictEqual(
        error.reason._tag === "ForeignKeyViolation" ? error.reason.constraint : "",
        "tenant_databases_tenant_id_fkey"
      )
      assertShowsNoInternals(error)
    }))

  it.effect("text PostgreSQL cannot read as uuid or enum is InvalidTextRepresentation", () =>
    Effect.gen(function*() {
      const db = yield* Db
      const badUuid = yield* Effect.flip(db.query(sql`SELECT * FROM control_plane.tenants WHERE tenant_id = ${"not-a-uuid"}`))
      assert.strictEqual(badUuid.reason._tag, "InvalidTextRepresentation")
      const badEnum = yield* Effect.flip(db.query(sql`SELECT * FROM control_plane.tenants WHERE status = ${"sleeping"}`))
      assert.strictEqual(badEnum.reason._tag, "InvalidTextRepresentation")
      assertShowsNoInternals(badEnum, "sleeping")
    }))

  it.effect("a missing table (the schema not applied) is SchemaMissing, naming nothing of the query", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Db.use((db) => db.query(sql`SELECT * FROM control_plane.no_such_table`)))
      assert.strictEqual(error.reason._tag, "SchemaMissing")
      assertShowsNoInternals(error, "no_such_table")
    }))

  it.effect("any other failure is Unknown with its SQLSTATE only", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Db.use((db) => db.query(sql`SELECT 1 / (0 * ${7}::int) AS no_such_value`)))
      assert.strictEqual(error.reason._tag, "Unknown")
      assert.strictEqual(error.reason._tag === "Unknown" ? error.reason.code : "", "22012")
      assertShowsNoInternals(error, "no_such_value")
    }))

  it.effect("a transaction runs its queries on one connection and commits on success", () =>
    Effect.gen(function*() {
      const db = yield* Db
      const [first, second] = [uniqueName("tx-a"), uniqueName("tx-b")]
      const sessions = yield* db.transaction(
        Effect.gen(function*() {
          yield* insertTenant(first)
          yield* insertTenant(second)
          const a = yield* db.query<{ pid: number; xid: bigint }>(sql`SELECT pg_backend_pid() AS pid, txid_current() AS xid`)
          const b = yield* db.query<{ pid: number; xid: bigint }>(sql`SELECT pg_backend_pid() AS pid, txid_current() AS xid`)
          return [a[0], b[0]]
        })
      )
      assert.deepStrictEqual(sessions[0], sessions[1])
      assert.strictEqual(yield* countTenantsNamed(first), 1)
      assert.strictEqual(yield* countTenantsNamed(second), 1)
    }))

  it.effect("a failing transaction rolls back and fails with the effect's own error", () =>
    Effect.gen(function*() {
      const db = yield* Db
      const name = uniqueName("tx-fail")
      const error = yield* Effect.flip(
        db.transaction(insertTenant(name).pipe(Effect.andThen(Effect.fail("changed my mind" as const))))
      )
      assert.strictEqual(error, "changed my mind")
      assert.strictEqual(yield* countTenantsNamed(name), 0)
    }))

  it.effect("a database error inside a transaction rolls back the earlier statements", () =>
    Effect.gen(function*() {
      const db = yield* Db
      const name = uniqueName("tx-dberror")
      const error = yield* Effect.flip(db.transaction(insertTenant(name).pipe(Effect.andThen(insertTenant(name)))))
      assert.strictEqual(error._tag, "DbError")
      assert.strictEqual(yield* countTenantsNamed(name), 0)
    }))

  it.effect("a defect inside a transaction rolls back and stays a defect", () =>
    Effect.gen(function*() {
      const db = yield* Db
      const name = uniqueName("tx-die")
      const exit = yield* Effect.exit(db.transaction(insertTenant(name).pipe(Effect.andThen(Effect.die("bug")))))
      assert.isTrue(Exit.hasDies(exit))
      assert.strictEqual(yield* countTenantsNamed(name), 0)
    }))

  it.effect("an interrupted transaction rolls back before the interruption completes", () =>
    Effect.gen(function*() {
      const db = yield* Db
      const name = uniqueName("tx-interrupt")
      const inserted = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(
        db.transaction(insertTenant(name).pipe(Effect.andThen(Deferred.succeed(inserted, undefined)), Effect.andThen(Effect.never)))
      )
      yield* Deferred.await(inserted)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(yield* countTenantsNamed(name), 0)
    }))

  it.effect("a nested transaction is a savepoint: its failure leaves the outer one intact", () =>
    Effect.gen(function*() {
      const db = yield* Db
      const [outer, inner] = [uniqueName("outer"), uniqueName("inner")]
      yield* db.transaction(
        Effect.gen(function*() {
          yield* insertTenant(outer)
          const error = yield* Effect.flip(db.transaction(insertTenant(inner).pipe(Effect.andThen(Effect.fail("inner")))))
          assert.strictEqual(error, "inner")
        })
      )
      assert.strictEqual(yield* countTenantsNamed(outer), 1)
      assert.strictEqual(yield* countTenantsNamed(inner), 0)
    }))

  it.effect("a connection killed under a transaction is a ConnectionError", () =>
    Effect.gen(function*() {
      const db = yield* Db
      const { url } = yield* MigratedDatabase
      const error = yield* Effect.flip(
        db.transaction(
          Effect.gen(function*() {
            const [session] = yield* db.query<{ pid: number }>(sql`SELECT pg_backend_pid() AS pid`)
            yield* bareQuery(url, sql`SELECT pg_terminate_backend(${session?.pid})`)
            yield* db.query(sql`SELECT 1`)
          })
        )
      )
      assert.strictEqual(error._tag, "DbError")
      assert.strictEqual(error._tag === "DbError" ? error.reason._tag : "", "ConnectionError")
      // The pool replaces the dead connection.
      assert.deepStrictEqual(yield* db.query(sql`SELECT 1 AS one`), [{ one: 1 }])
    }))

  it.effect("with a 100 ms statement timeout, a slow statement is a QueryTimeout", () =>
    Effect.gen(function*() {
      const { url } = yield* MigratedDatabase
      const error = yield* Effect.flip(
        withDbOn(url, (db) => db.query(sql`SELECT pg_sleep(2)`), { statementTimeoutMs: 100 })
      )
      assert.strictEqual(error.reason._tag, "QueryTimeout")
      assert.isTrue(error.isRetryable)
    }))

  it.effect("with one busy connection, waiting past the queue timeout is a QueryTimeout", () =>
    Effect.gen(function*() {
      const { url } = yield* MigratedDatabase
      const error = yield* withDbOn(
        url,
        (db) =>
          Effect.gen(function*() {
            const holding = yield* Deferred.make<void>()
            const release = yield* Deferred.make<void>()
            const holder = yield* Effect.forkChild(
              db.transaction(
                db.query(sql`SELECT 1`).pipe(
                  Effect.andThen(Deferred.succeed(holding, undefined)),
                  Effect.andThen(Deferred.await(release))
                )
              )
            )
            yield* Deferred.await(holding)
            const error = yield* Effect.flip(db.query(sql`SELECT 1`))
            yield* Deferred.succeed(release, undefined)
            yield* Fiber.join(holder)
            return error
          }),
        { poolSize: 1, connectTimeoutMs: 100, queueTimeoutMs: 300 }
      )
      assert.strictEqual(error.reason._tag, "QueryTimeout")
    }))
})

/** A Db on `url`, built and torn down within `use`. */
const withDbOn = <A, E>(
  url: string,
  use: (db: Db["Service"]) => Effect.Effect<A, E>,
  settings: Partial<Omit<DatabaseSettings, "url">> = {}
) =>
  Effect.scoped(
    // fresh: a test block's layer may already hold Db.layerNoDeps in its memo map.
    Layer.build(Layer.fresh(Db.layerNoDeps).pipe(Layer.provide(DatabaseConfig.layerWith({ ...settings, url: Redacted.make(url) })))).pipe(
      Effect.orDie, // these tests' URLs are well formed
      Effect.flatMap((context) => use(context.mapUnsafe.get(Db.key) as Db["Service"]))
    )
  )

/** A TCP server that accepts connections and never answers: a server that hangs. */
const silentServer = Effect.acquireRelease(
  Effect.promise(
    () =>
      new Promise<{ server: Server; sockets: Set<Socket> }>((resolve) => {
        const sockets = new Set<Socket>()
        const server = createServer((socket) => sockets.add(socket))
        server.listen(0, "127.0.0.1", () => resolve({ server, sockets }))
      })
  ),
  ({ server, sockets }) =>
    Effect.promise(() => {
      for (const socket of sockets) socket.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    })
)

describe("Db without a reachable server", () => {
  it.effect("a refused connection is a ConnectionError that names neither URL nor password", () =>
    Effect.gen(function*() {
      const url = "postgres://control:s3cret-pw@127.0.0.1:1/control_plane"
      const error = yield* Effect.flip(withDbOn(url, (db) => db.query(sql`SELECT 1`)))
      assert.strictEqual(error.reason._tag, "ConnectionError")
      assert.isTrue(error.isRetryable)
      assertShowsNoInternals(error, "s3cret-pw", "control:")
    }))

  it.effect("a database that does not exist is UnknownDatabase, and a role that does not exist LoginRefused: neither is retried", () =>
    Effect.gen(function*() {
      const missing = `postgres://postgres@127.0.0.1:5432/cp_missing_${crypto.randomUUID().slice(0, 8)}`
      const noDatabase = yield* Effect.flip(withDbOn(missing, (db) => db.query(sql`SELECT 1`)))
      assert.strictEqual(noDatabase.reason._tag, "UnknownDatabase")
      assert.strictEqual(noDatabase.message, "Database error: the database the connection string names does not exist on the server")
      assert.isFalse(noDatabase.isRetryable)
      const nobody = `postgres://cp_nobody_${crypto.randomUUID().slice(0, 8)}:pw-not-shown@127.0.0.1:5432/postgres`
      const noRole = yield* Effect.flip(withDbOn(nobody, (db) => db.query(sql`SELECT 1`)))
      assert.strictEqual(noRole.reason._tag, "LoginRefused")
      assert.notInclude(noRole.message, "pw-not-shown")
      assert.isFalse(noRole.isRetryable)
    }))

  it.effect("a server that never answers times out as a ConnectionError", () =>
    Effect.gen(function*() {
      const { server } = yield* silentServer
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      const url = `postgres://control:s3cret-pw@127.0.0.1:${port}/control_plane?sslmode=disable`
      const error = yield* Effect.flip(
        withDbOn(url, (db) => db.query(sql`SELECT 1`), { connectTimeoutMs: 200, queueTimeoutMs: 2_000 })
      )
      assert.strictEqual(error.reason._tag, "ConnectionError")
      assertShowsNoInternals(error, "s3cret-pw")
    }))
})

it.layer(MigratedDatabase.layer("db_pool"), { timeout: "120 seconds" })("Db pool lifetime", (it) => {
  it.effect("the pool's connections close when the layer's scope closes", () =>
    Effect.gen(function*() {
      const { name, url } = yield* MigratedDatabase
      const sessionsOf = bareQuery<{ n: bigint }>(
        url,
        sql`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = ${name} AND pid <> pg_backend_pid()`
      ).pipe(Effect.map((rows) => Number(rows[0]?.n)))
      const open = yield* withDbOn(url, (db) =>
        Effect.all([db.query(sql`SELECT pg_sleep(0.05)`), db.query(sql`SELECT pg_sleep(0.05)`)], {
          concurrency: "unbounded"
        }).pipe(Effect.andThen(sessionsOf))
      )
      assert.strictEqual(open, 2)
      assert.strictEqual(yield* sessionsOf, 0)
    }))
})
