/**
 * TenantConnections.reserve against the real PostgreSQL: permits of the one
 * global budget held for connections opened outside the pools (the tooling's
 * schema engine), so that provisioning and fleet runs stay within the budget
 * that tenant traffic shares. A reservation keeps tenants waiting while it
 * holds the budget, makes idle pools give way, times out like a checkout, and
 * leaves nothing behind.
 */
import { sql } from "@databases/pg"
import { ConfigProvider, Deferred, Effect, Exit, Fiber, Layer, ManagedRuntime } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ConnectionStringCrypto } from "../../src/crypto/ConnectionStringCrypto.ts"
import * as ControlPlane from "../../src/ControlPlane.ts"
import { TenantConnections } from "../../src/services/TenantConnections.ts"
import { testKeyRing } from "../cli/harness.ts"
import { createTenantDatabases, type Fleet, registerTenants } from "../support/tenantFleet.ts"
import { createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"

let controlPlane: TestDatabase
let fleet: Fleet
let runtime: ManagedRuntime.ManagedRuntime<Layer.Success<typeof ControlPlane.layer>, unknown>

beforeAll(async () => {
  ;[controlPlane, fleet] = await Promise.all([createMigratedTestDatabase("reserve"), createTenantDatabases("reserve", 2)])
  const env = {
    DATABASE_URL: controlPlane.url,
    ...testKeyRing().env,
    CONTROL_PLANE_POOL_SIZE: "2",
    CONTROL_PLANE_CONNECTION_BUDGET: "2",
    CONTROL_PLANE_TENANT_POOL_MAX: "2",
    CONTROL_PLANE_CHECKOUT_TIMEOUT_MS: "300"
  }
  runtime = ManagedRuntime.make(ControlPlane.layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env)))))
})

afterAll(async () => {
  await runtime?.dispose()
  await Promise.all([fleet?.drop(), controlPlane?.drop()])
})

const tenants = async (label: string) =>
  registerTenants(controlPlane.url, await runtime.runPromise(ConnectionStringCrypto.useSync((c) => c)), label, fleet.databases)

const stats = () => runtime.runPromise(TenantConnections.use((c) => c.stats()))

const query = (tenant: string) =>
  runtime.runPromiseExit(TenantConnections.use((c) => c.withTenant(tenant, (db) => db.query(sql`SELECT 1`))))

const tagOf = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isSuccess(exit) ? "ok" : (exit.cause.reasons[0] as { error?: { _tag: string } }).error?._tag

describe("TenantConnections.reserve", () => {
  it("holds permits of the budget until its scope closes: tenants wait meanwhile, and are served after", async () => {
    const [a] = await tenants("held")
    const release = await runtime.runPromise(Deferred.make<void>())
    const holder = runtime.runFork(
      Effect.scoped(Effect.andThen(TenantConnections.use((c) => c.reserve(a!.tenantId, 2)), Deferred.await(release)))
    )
    await expect.poll(async () => (await stats()).connectionsInUse, { timeout: 5_000 }).toBe(2)
    expect(tagOf(await query(a!.name))).toBe("ConnectionBudgetExhausted")
    await runtime.runPromise(Deferred.succeed(release, undefined))
    await runtime.runPromise(Fiber.join(holder))
    expect(tagOf(await query(a!.name))).toBe("ok")
    const after = await stats()
    expect(after.connectionsInUse).toBe(0)
    expect(after.waiters).toBe(0)
  })

  it("makes an idle tenant pool give way, and times out like a checkout when the budget stays busy", async () => {
    const [a, b] = await tenants("evict")
    // Both permits go to a's pool, which then sits idle.
    await runtime.runPromise(TenantConnections.use((c) =>
      Effect.all([a!.name, a!.name].map((name) => c.withTenant(name, (db) => Effect.andThen(db.query(sql`SELECT 1`), Effect.sleep(50)))), {
        concurrency: "unbounded"
      })))
    const evictionsBefore = (await stats()).evictions
    await runtime.runPromise(Effect.scoped(TenantConnections.use((c) => c.reserve(b!.tenantId, 2))))
    expect((await stats()).evictions).toBeGreaterThan(evictionsBefore)
    // A tenant busy on the whole budget: a reservation waits, then gives up with nothing held.
    const release = await runtime.runPromise(Deferred.make<void>())
    const busy = runtime.runFork(TenantConnections.use((c) =>
      Effect.all([0, 1].map(() => c.withTenant(b!.name, () => Deferred.await(release))), { concurrency: "unbounded" })))
    await expect.poll(async () => (await stats()).connectionsInUse, { timeout: 5_000 }).toBe(2)
    const refused = await runtime.runPromiseExit(Effect.scoped(TenantConnections.use((c) => c.reserve(a!.tenantId, 1))))
    expect(tagOf(refused)).toBe("ConnectionBudgetExhausted")
    await runtime.runPromise(Deferred.succeed(release, undefined))
    await runtime.runPromise(Fiber.join(busy))
    const after = await stats()
    expect([after.connectionsInUse, after.waiters]).toEqual([0, 0])
  })
})
