/**
 * The per-service layers a backend program can provide instead of
 * ControlPlane.layer: Tenants and SystemConfig need only DATABASE_URL (no key
 * ring), merged they still share one connection pool, and only
 * TenantDatabases asks for the key ring.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { afterAll, beforeAll } from "vitest"
import { ControlPlane, SystemConfig, TenantDatabases, Tenants } from "../../src/index.ts"
import { Db, sql } from "../../src/db/Db.ts"
import { createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"

let database: TestDatabase
beforeAll(async () => {
  database = await createMigratedTestDatabase("layers")
}, 120_000)
afterAll(() => database?.drop())

/** Only DATABASE_URL: no key ring anywhere in the configuration. */
const databaseOnly = () => ConfigProvider.layer(ConfigProvider.fromUnknown({ DATABASE_URL: database.url }))

/** Connections to this database other than the asking one's. */
const otherConnections = Db.use((db) =>
  db.query<{ count: string }>(
    sql`SELECT count(*)::text AS count FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`
  )
).pipe(Effect.map((rows) => Number(rows[0]!.count)))

describe("per-service layers", () => {
  it.effect("Tenants.layer and SystemConfig.layer work without a key ring", () =>
    Effect.gen(function*() {
      const admin = yield* Tenants.use((tenants) => tenants.findByName("system_admin"))
      assert.strictEqual(admin.status, "active")
      assert.isArray(yield* SystemConfig.use((config) => config.list()))
    }).pipe(Effect.provide(Layer.mergeAll(Tenants.layer, SystemConfig.layer)), Effect.provide(databaseOnly())))

  /** Tenants, then SystemConfig, then how many connections other than the asking one are open. */
  const connectionsAfterBoth = Effect.gen(function*() {
    yield* Tenants.use((tenants) => tenants.findByName("system_admin"))
    yield* SystemConfig.use((config) => config.list())
    return yield* otherConnections
  })

  it.effect("merged, Tenants and SystemConfig share one pool: sequential calls leave one connection open", () =>
    Effect.gen(function*() {
      // One pool: the connection both calls used is the one asking now, so no other is open.
      assert.strictEqual(yield* connectionsAfterBoth.pipe(Effect.provide(Layer.mergeAll(Tenants.layer, SystemConfig.layer, Db.layer))), 0)
      // The measure sees a second pool: SystemConfig on a fresh Db leaves its own connection open.
      const separate = Layer.mergeAll(Tenants.layer, SystemConfig.layerNoDeps.pipe(Layer.provide(Layer.fresh(Db.layer))), Db.layer)
      assert.strictEqual(yield* connectionsAfterBoth.pipe(Effect.provide(separate)), 1)
    }).pipe(Effect.provide(databaseOnly())))

  it.effect("TenantDatabases.layer (and so ControlPlane.layer) is the one that needs the key ring", () =>
    Effect.gen(function*() {
      for (const layer of [TenantDatabases.layer, ControlPlane.layer]) {
        const error = yield* Effect.flip(Effect.provide(Effect.void, layer))
        assert.strictEqual(error._tag, "KeyRingError")
        assert.match(error.message, /CONTROL_PLANE_ENCRYPTION_KEYS is not set/)
      }
    }).pipe(Effect.provide(databaseOnly())))
})
