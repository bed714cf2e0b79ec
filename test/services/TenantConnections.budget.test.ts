/**
 * The global budget under a fan-out: 300 tenants, each with a database of its
 * own, routed through one TenantConnections with a budget of 20 connections,
 * 60 callers at a time. A sampler reads pg_stat_activity throughout and the
 * test asserts the most connections to the tenant databases it ever saw.
 *
 * The 300 databases are empty copies of template0 (STRATEGY FILE_COPY, made
 * 16 at a time) and are dropped at the end; a control-plane database of its
 * own holds the tenants.
 */
import pg, { sql } from "@databases/pg"
import type { ConnectionPool } from "@databases/pg"
import { ConfigProvider, Effect, Exit, Layer, ManagedRuntime } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as ControlPlane from "../../src/ControlPlane.ts"
import { ConnectionStringCrypto } from "../../src/crypto/ConnectionStringCrypto.ts"
import { TenantConnections } from "../../src/services/TenantConnections.ts"
import { tenantPoolApplicationName } from "../../src/services/TenantConnections/pools.ts"
import { testKeyRing } from "../cli/harness.ts"
import { createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"
import { createTenantDatabases, type Fleet, registerTenants, type RegisteredTenant } from "../support/tenantFleet.ts"

const TENANTS = 300
const BUDGET = 20
const CALLERS = 60

let controlPlane: TestDatabase
let fleet: Fleet
let tenants: ReadonlyArray<RegisteredTenant>
let runtime: ManagedRuntime.ManagedRuntime<Layer.Success<typeof ControlPlane.layer>, unknown>
let sampler: ConnectionPool

beforeAll(async () => {
  ;[controlPlane, fleet] = await Promise.all([createMigratedTestDatabase("budget"), createTenantDatabases("budget", TENANTS, 16)])
  runtime = ManagedRuntime.make(ControlPlane.layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({
    DATABASE_URL: controlPlane.url,
    ...testKeyRing().env,
    CONTROL_PLANE_POOL_SIZE: "4",
    CONTROL_PLANE_CONNECTION_BUDGET: String(BUDGET),
    CONTROL_PLANE_TENANT_POOL_MAX: "2",
    CONTROL_PLANE_CHECKOUT_TIMEOUT_MS: "20000"
  })))))
  const crypto = await runtime.runPromise(ConnectionStringCrypto.useSync((service) => service))
  tenants = await registerTenants(controlPlane.url, crypto, "fanout", fleet.databases)
  sampler = pg.default({ connectionString: controlPlane.url, poolSize: 1, bigIntMode: "number" })
})

afterAll(async () => {
  await runtime?.dispose()
  await sampler?.dispose()
  await Promise.all([fleet?.drop(), controlPlane?.drop()])
})

describe("the connection budget under a fan-out over 300 tenant databases", () => {
  it(`never shows more than ${BUDGET} of our connections in pg_stat_activity`, async () => {
    const prefix = fleet.databases[0]!.name.replace(/_0$/, "_")
    const started = performance.now()
    let sampling = true
    let samples = 0
    let most = 0 // connections carrying the pools' application_name
    let mostAny = 0 // any connection to a tenant database, named or not
    const sampling$ = (async () => {
      while (sampling) {
        const [row] = await sampler.query(sql`
          SELECT count(*) FILTER (WHERE application_name = ${tenantPoolApplicationName}) AS ours, count(*) AS any
          FROM pg_stat_activity WHERE datname LIKE ${`${prefix}%`}`)
        most = Math.max(most, row.ours)
        mostAny = Math.max(mostAny, row.any)
        samples++
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
    })()
    const results = await runtime.runPromise(
      Effect.forEach(
        tenants,
        (tenant) =>
          Effect.exit(TenantConnections.use((connections) =>
            connections.withTenant(tenant.name, (db) =>
              db.query<{ name: string }>(sql`SELECT current_database() AS name FROM pg_sleep(0.002)`))
          )).pipe(Effect.map((exit) => Exit.isSuccess(exit) && exit.value[0]!.name === tenant.database.name)),
        { concurrency: CALLERS }
      )
    )
    sampling = false
    await sampling$
    const stats = await runtime.runPromise(TenantConnections.use((connections) => connections.stats()))
    expect(results.filter((ok) => !ok)).toHaveLength(0) // every call ran on its own tenant's database
    expect(most).toBeLessThanOrEqual(BUDGET)
    expect(mostAny).toBeLessThanOrEqual(BUDGET)
    // The sampler did see the budget in use, so the maximum means something.
    expect(samples).toBeGreaterThan(20)
    expect(most).toBeGreaterThanOrEqual(BUDGET / 2)
    expect(stats.connectionsOpen).toBeLessThanOrEqual(BUDGET)
    expect(stats.evictions).toBeGreaterThanOrEqual(TENANTS - BUDGET)
    console.log(
      `fan-out: ${TENANTS} calls over ${TENANTS} tenant databases, ${CALLERS} at a time, budget ${BUDGET}: ` +
        `at most ${most} pool connections (${mostAny} of any kind) in ${samples} samples of pg_stat_activity; ` +
        `${stats.evictions} evictions, checkout wait p50 ${stats.checkoutWaitMs.p50} ms p99 ${stats.checkoutWaitMs.p99} ms, ` +
        `${Math.round(performance.now() - started)} ms`
    )
  })
})
