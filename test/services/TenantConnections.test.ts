/**
 * TenantConnections against the real PostgreSQL, configured only by
 * environment variables through ControlPlane.layer, as a backend program is:
 * routing by name and id, transactions, every typed failure, the budget,
 * idle pools, and push invalidation (in this process and in a second one,
 * after a changed connection string, after the listener's backend is killed,
 * and under a race of lookups and changes).
 *
 * The file works in a control-plane database of its own and three empty
 * tenant databases (copies of template0), all dropped at the end.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import pg, { sql } from "@databases/pg"
import type { ConnectionPool } from "@databases/pg"
import { ConfigProvider, Deferred, Effect, Exit, Fiber, Layer, ManagedRuntime, Metric, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ConnectionStringCrypto } from "../../src/crypto/ConnectionStringCrypto.ts"
import { DatabaseConfig } from "../../src/db/DatabaseConfig.ts"
import { Db } from "../../src/db/Db.ts"
import * as ControlPlane from "../../src/ControlPlane.ts"
import { Tenants } from "../../src/services/Tenants.ts"
import { TenantConnections, type TenantDb } from "../../src/services/TenantConnections.ts"
import { TenantConnectionsConfig } from "../../src/services/TenantConnections/config.ts"
import { listenerApplicationName } from "../../src/services/TenantConnections/listener.ts"
import { tenantPoolApplicationName, TenantPoolFactory } from "../../src/services/TenantConnections/pools.ts"
import { testKeyRing } from "../cli/harness.ts"
import { createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"
import { startFaultyProxy } from "../support/faultyProxy.ts"
import { createTenantDatabases, envelopeFor, type Fleet, recordingPoolFactory, registerTenants } from "../support/tenantFleet.ts"

let controlPlane: TestDatabase
let fleet: Fleet
let admin: ConnectionPool // plain SQL on the control plane, as an operator in psql
let env: Record<string, string>

type Runtime = ManagedRuntime.ManagedRuntime<Layer.Success<typeof ControlPlane.layer>, unknown>
const runtimes: Array<Runtime> = []
const afterAllDisposals: Array<() => Promise<void>> = []

/**
 * ControlPlane.layer on this file's databases, settings from (test) environment
 * variables; `hooks` provides internal references too (TenantPoolFactory).
 */
const makeRuntime = (overrides: Record<string, string> = {}, hooks: Layer.Layer<never> = Layer.empty): Runtime => {
  const runtime = ManagedRuntime.make(
    ControlPlane.layer.pipe(Layer.provide(Layer.merge(ConfigProvider.layer(ConfigProvider.fromUnknown({ ...env, ...overrides })), hooks)))
  )
  runtimes.push(runtime)
  return runtime
}

let runtime: Runtime

beforeAll(async () => {
  ;[controlPlane, fleet] = await Promise.all([createMigratedTestDatabase("connections"), createTenantDatabases("connections", 3)])
  admin = pg.default({ connectionString: controlPlane.url, poolSize: 2, bigIntMode: "bigint" })
  env = {
    DATABASE_URL: controlPlane.url,
    ...testKeyRing().env,
    CONTROL_PLANE_POOL_SIZE: "3",
    CONTROL_PLANE_CONNECTION_BUDGET: "4",
    CONTROL_PLANE_TENANT_POOL_MAX: "2",
    CONTROL_PLANE_CHECKOUT_TIMEOUT_MS: "300",
    // An hour: within these tests only invalidation can explain a change being seen.
    CONTROL_PLANE_RESOLVE_TTL_MS: "3600000"
  }
  runtime = makeRuntime()
})

afterAll(async () => {
  await Promise.all([...runtimes.map((r) => r.dispose()), ...afterAllDisposals.map((dispose) => dispose())])
  await admin?.dispose()
  await Promise.all([fleet?.drop(), controlPlane?.drop()])
})

const crypto = () => runtime.runPromise(ConnectionStringCrypto.useSync((service) => service))

/** A fresh active tenant on tenant database `index` of the fleet. */
const newTenant = async (label: string, index = 0) => {
  const [tenant] = await registerTenants(controlPlane.url, await crypto(), label, [fleet.databases[index]!])
  return tenant!
}

const currentDatabase = (r: Runtime, tenant: string) =>
  r.runPromise(TenantConnections.use((connections) =>
    connections.withTenant(tenant, (db) => db.query<{ name: string }>(sql`SELECT current_database() AS name`))
  )).then((rows) => rows[0]!.name)

/** How withTenant ends for the tenant: "ok" or the error's tag. */
const outcome = (r: Runtime, tenant: string) =>
  r.runPromiseExit(TenantConnections.use((connections) => connections.withTenant(tenant, (db) => db.query(sql`SELECT 1`))))
    .then((exit) => (Exit.isSuccess(exit) ? "ok" : (exit.cause.reasons[0] as { error?: { _tag: string } }).error?._tag ?? "defect"))

/** The error `effect` fails with (its tag and message). */
const failureOf = async (effect: Effect.Effect<unknown, unknown, Layer.Success<typeof ControlPlane.layer>>, r = runtime) => {
  const exit = await r.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  return (exit.cause.reasons[0] as unknown as { error: { _tag: string; message: string } }).error
}

/** Polls `check` every 5 ms until it returns true; gives the milliseconds it took (throws after `limitMs`). */
const within = async (limitMs: number, check: () => Promise<boolean>): Promise<number> => {
  const start = performance.now()
  while (!(await check())) {
    if (performance.now() - start > limitMs) throw new Error(`not within ${limitMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return performance.now() - start
}

const stats = (r = runtime) => r.runPromise(TenantConnections.use((connections) => connections.stats()))

/** The tenant's pool made and its resolution cached (once the listener is up), so that the next call takes neither a lookup nor a wait. */
const warm = async (r: Runtime, tenant: string) => {
  await r.runPromise(TenantConnections.use((c) => c.withTenant(tenant, () => Effect.void)))
  await within(5_000, async () => (await stats(r)).listening)
  await r.runPromise(TenantConnections.use((c) => c.resolve(tenant)))
  const { misses } = (await stats(r)).resolutions
  await r.runPromise(TenantConnections.use((c) => c.resolve(tenant)))
  expect((await stats(r)).resolutions.misses).toBe(misses)
}

describe("withTenant", () => {
  it("runs on the tenant's active database, found by name, by id and by an upper-case id", async () => {
    const tenant = await newTenant("route", 1)
    expect(await currentDatabase(runtime, tenant.name)).toBe(fleet.databases[1]!.name)
    expect(await currentDatabase(runtime, tenant.tenantId)).toBe(fleet.databases[1]!.name)
    expect(await currentDatabase(runtime, tenant.tenantId.toUpperCase())).toBe(fleet.databases[1]!.name)
    const resolved = await runtime.runPromise(TenantConnections.use((c) => c.resolve(tenant.name)))
    expect(resolved).toEqual({ tenantId: tenant.tenantId, name: tenant.name, status: "active", databaseId: tenant.databaseId })
  })

  it("connections carry the pools' application_name, so pg_stat_activity tells them apart", async () => {
    const tenant = await newTenant("appname", 2)
    const names = await runtime.runPromise(TenantConnections.use((c) =>
      c.withTenant(tenant.name, (db) => db.query<{ name: string }>(sql`SELECT current_setting('application_name') AS name`))
    ))
    expect(names[0]!.name).toBe(tenantPoolApplicationName)
  })

  it("pools are made by TenantPoolFactory: one per tenant database, of CONTROL_PLANE_TENANT_POOL_MAX, closed with the layer", async () => {
    const { made, layer: recording } = recordingPoolFactory()
    const r = makeRuntime({}, recording)
    try {
      const [a, b] = [await newTenant("factory-a", 0), await newTenant("factory-b", 1)]
      for (const tenant of [a, b, a, b]) await currentDatabase(r, tenant.name)
      expect(made.map(({ config }) => [config.poolSize, config.idleTimeoutMilliseconds])).toEqual([[2, 0], [2, 0]])
      // The pools made are the ones withTenant's statements ran on.
      const names = await Promise.all(made.map(({ pool }) => pool.query(sql`SELECT current_database() AS name`)))
      expect(names.map((rows) => rows[0]!["name"])).toEqual([fleet.databases[0]!.name, fleet.databases[1]!.name])
    } finally {
      await r.dispose()
    }
    await expect(made[0]!.pool.query(sql`SELECT 1`)).rejects.toThrow(/disposed/)
  })

  it("transaction commits on success, rolls back on failure, and nests as savepoints", async () => {
    const tenant = await newTenant("tx", 2)
    const table = sql.ident(`items_${tenant.tenantId.slice(0, 8)}`)
    const run = <A, E>(work: (db: TenantDb) => Effect.Effect<A, E>) =>
      runtime.runPromiseExit(TenantConnections.use((c) => c.withTenant(tenant.name, work)))
    await run((db) => db.query(sql`CREATE TABLE ${table} (v int)`))
    await run((db) => db.transaction(db.query(sql`INSERT INTO ${table} VALUES (1)`)))
    const failed = await run((db) =>
      db.transaction(Effect.andThen(db.query(sql`INSERT INTO ${table} VALUES (2)`), Effect.fail("no")))
    )
    expect(Exit.isFailure(failed)).toBe(true)
    await run((db) =>
      db.transaction(Effect.gen(function*() {
        yield* db.query(sql`INSERT INTO ${table} VALUES (3)`)
        yield* Effect.ignore(db.transaction(Effect.andThen(db.query(sql`INSERT INTO ${table} VALUES (4)`), Effect.fail("inner"))))
      }))
    )
    const rows = await run((db) => db.query<{ v: number }>(sql`SELECT v FROM ${table} ORDER BY v`))
    expect(Exit.isSuccess(rows) ? rows.value.map((r) => r.v) : rows).toEqual([1, 3])
  })

  it("a transaction holds one connection; a statement of the same callback outside it waits for it and does not join it", async () => {
    const tenant = await newTenant("tx-hold", 2)
    const table = sql.ident(`held_${tenant.tenantId.slice(0, 8)}`)
    const run = <A, E>(work: (db: TenantDb) => Effect.Effect<A, E>) =>
      runtime.runPromise(TenantConnections.use((c) => c.withTenant(tenant.name, work)))
    await run((db) => db.query(sql`CREATE TABLE ${table} (v int)`))
    const pid = sql`SELECT pg_backend_pid() AS pid`
    const [pids, outside] = await run((db) =>
      Effect.all([
        db.transaction(Effect.gen(function*() {
          const first = yield* db.query<{ pid: number }>(pid)
          yield* db.query(sql`INSERT INTO ${table} VALUES (1)`)
          yield* db.query(sql`SELECT pg_sleep(0.2)`)
          yield* db.query(sql`INSERT INTO ${table} VALUES (2)`)
          const last = yield* db.query<{ pid: number }>(pid)
          return [first[0]!.pid, last[0]!.pid]
        })),
        // Issued while the transaction runs: it runs after the commit, so it sees both rows.
        Effect.andThen(Effect.sleep(50), db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM ${table}`))
      ], { concurrency: "unbounded" }))
    expect(pids[0]).toBe(pids[1])
    expect(outside[0]!.n).toBe(2)
  })

  it("statements of one callback run one at a time on one connection, however many are issued at once", async () => {
    const r = makeRuntime({ CONTROL_PLANE_TENANT_POOL_MAX: "3" })
    const tenant = await newTenant("serial", 1)
    const backends = () =>
      admin.query(sql`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = ${fleet.databases[1]!.name} AND application_name = ${tenantPoolApplicationName}`).then((rows) => rows[0]!.n as number)
    const before = await backends()
    const order: Array<number> = []
    await r.runPromise(TenantConnections.use((c) =>
      c.withTenant(tenant.name, (db) =>
        Effect.all(
          [0, 1, 2, 3, 4].map((i) => Effect.tap(db.query(sql`SELECT pg_sleep(0.02)`), () => Effect.sync(() => order.push(i)))),
          { concurrency: "unbounded" }
        ))
    ))
    expect(order).toEqual([0, 1, 2, 3, 4])
    expect((await stats(r)).connectionsOpen).toBe(1)
    expect((await backends()) - before).toBeLessThanOrEqual(1)
  })

  it("a permit goes back only once its connection is back in the pool: calls one after another never open a second connection", async () => {
    // A budget of 1 under a pool maximum of 2: a call that took the permit
    // before the previous call's connection was back would make the pool open
    // a second one, beyond the budget.
    const r = makeRuntime({ CONTROL_PLANE_CONNECTION_BUDGET: "1", CONTROL_PLANE_TENANT_POOL_MAX: "2" })
    const tenant = await newTenant("handover", 0)
    await r.runPromise(TenantConnections.use((c) =>
      Effect.forEach(Array.from({ length: 50 }, (_, i) => i), (i) =>
        c.withTenant(tenant.name, (db) => (i % 2 === 0 ? db.query(sql`SELECT 1`) : db.transaction(db.query(sql`SELECT 1`)))))
    ))
    expect((await stats(r)).connectionsOpen).toBe(1)
  })

  it("an interrupted callback keeps its permit until its statement in flight ends; a connection used after its call fails", async () => {
    const r = makeRuntime()
    const tenant = await newTenant("interrupted", 2)
    // First on a pool that is made for the call, then on the warm pool (the path without a lookup or a wait).
    for (const pool of ["new", "warm"]) {
      if (pool === "warm") await warm(r, tenant.name)
      const fiber = r.runFork(TenantConnections.use((c) => c.withTenant(tenant.name, (db) => db.query(sql`SELECT pg_sleep(0.5)`))))
      await within(5_000, async () => (await stats(r)).connectionsInUse === 1)
      await new Promise((resolve) => setTimeout(resolve, 50)) // the statement is on its way
      await r.runPromise(Fiber.interrupt(fiber))
      expect((await stats(r)).connectionsInUse, pool).toBe(1)
      await within(5_000, async () => (await stats(r)).connectionsInUse === 0)
    }
    const escaped = await r.runPromise(TenantConnections.use((c) => c.withTenant(tenant.name, (db) => Effect.succeed(db))))
    const error = await failureOf(escaped.query(sql`SELECT 1`), r)
    expect(error._tag).toBe("DbError")
    expect((await stats(r)).connectionsInUse).toBe(0)
    // A callback that throws instead of returning an effect dies, and gives its permit back.
    const thrown = await r.runPromiseExit(TenantConnections.use((c) =>
      c.withTenant(tenant.name, (): Effect.Effect<void> => {
        throw new Error("not an effect")
      })
    ))
    expect(Exit.isFailure(thrown) && thrown.cause.reasons[0]?._tag).toBe("Die")
    expect((await stats(r)).connectionsInUse).toBe(0)
  })
})

describe("interruption and shutdown give every permit back", () => {
  it("a call interrupted wherever the scheduler makes its fiber yield keeps no permit", async () => {
    // After a long enough run of steps effect's scheduler yields between two
    // of them; padding the fiber by n steps moves that point across the
    // call, so some n lands it between taking a permit and handing it to the
    // call's finalizer. Every call is interrupted right there.
    const r = makeRuntime()
    const tenant = await newTenant("yield_points", 1)
    await warm(r, tenant.name)
    for (let n = 900; n < 1150; n++) {
      await r.runPromise(TenantConnections.use((c) => Effect.gen(function*() {
        let padding: Effect.Effect<void> = Effect.void
        for (let i = 0; i < n; i++) padding = Effect.flatMap(padding, () => Effect.void)
        const call = yield* Effect.forkChild(Effect.andThen(padding, c.withTenant(tenant.name, () => Effect.void)))
        yield* Effect.yieldNow
        yield* Fiber.interrupt(call)
      })))
      expect((await stats(r)).connectionsInUse, `after padding ${n}`).toBe(0)
    }
  })

  it("closing the layer while a call and a reservation wait for the budget: both end interrupted, and no tenant connection is left", async () => {
    // The layer in a scope of its own, closed as a program's would be, while
    // the waiting fibers go on (a ManagedRuntime would interrupt them itself).
    const scope = Effect.runSync(Scope.make())
    const settings = { ...env, CONTROL_PLANE_CONNECTION_BUDGET: "1", CONTROL_PLANE_CHECKOUT_TIMEOUT_MS: "10000" }
    const context = await Effect.runPromise(Layer.buildWithScope(
      ControlPlane.layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(settings)))), scope))
    const run = <A, E>(effect: Effect.Effect<A, E, TenantConnections>) => Effect.runFork(Effect.provideContext(effect, context))
    // Connection strings with an application_name of their own: only this layer's pools show under it.
    const applicationName = "cp_close_test"
    const [holding, waiting] = await registerTenants(controlPlane.url, await crypto(), "close", [0, 1].map((index) => {
      const url = new URL(fleet.databases[index]!.url)
      url.searchParams.set("application_name", applicationName)
      return { ...fleet.databases[index]!, url: url.toString() }
    })) as [Awaited<ReturnType<typeof newTenant>>, Awaited<ReturnType<typeof newTenant>>]
    const inUse = () => Effect.runPromise(Fiber.join(run(TenantConnections.use((c) => c.stats()))))
    const release = Effect.runSync(Deferred.make<void>())
    const holder = run(TenantConnections.use((c) => c.withTenant(holding.name, (db) => Effect.andThen(db.query(sql`SELECT 1`), Deferred.await(release)))))
    await within(5_000, async () => (await inUse()).connectionsInUse === 1)
    const waiter = run(TenantConnections.use((c) => c.withTenant(waiting.name, (db) => db.query(sql`SELECT 1`))))
    const reservation = run(Effect.scoped(TenantConnections.use((c) => c.reserve(waiting.tenantId, 1))))
    await within(5_000, async () => (await inUse()).waiters === 2)
    const closed = Effect.runPromise(Scope.close(scope, Exit.void))
    await new Promise((resolve) => setTimeout(resolve, 50))
    Deferred.doneUnsafe(release, Exit.void)
    await closed
    const [holderExit, waiterExit, reservationExit] = await Promise.all([
      Effect.runPromise(Fiber.await(holder)),
      Effect.runPromise(Fiber.await(waiter)),
      Effect.runPromise(Fiber.await(reservation))
    ])
    expect(Exit.isSuccess(holderExit)).toBe(true)
    expect(Exit.hasInterrupts(waiterExit)).toBe(true)
    expect(Exit.hasInterrupts(reservationExit)).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 100))
    const [{ open }] = await admin.query(sql`
      SELECT count(*)::int AS open FROM pg_stat_activity WHERE application_name = ${applicationName}`)
    expect(open).toBe(0)
  })
})

describe("typed failures, each one sentence", () => {
  it("an unknown tenant, a tenant not active, one without an active database, system_admin, and bad input", async () => {
    const unknownId = "4b0e4c2e-9a49-4bb8-9a6f-3d8f0c6f1e2a"
    const cases: Array<[string, string, RegExp]> = [
      ["nobody-here", "TenantNotFound", /^No tenant is named "nobody-here"$/],
      [unknownId, "TenantNotFound", new RegExp(`^No tenant has the id ${unknownId}$`)],
      ["system_admin", "NoActiveDatabase", /^Tenant "system_admin" has no active database$/],
      ["", "InvalidInput", /^Invalid tenant id or name: must not be empty$/]
    ]
    const [pending] = await admin.query(sql`
      INSERT INTO control_plane.tenants (name, environment, status) VALUES ('pending-one', 'staging', 'pending') RETURNING tenant_id`)
    cases.push(["pending-one", "TenantNotActive", /^Tenant "pending-one" is pending, not active$/])
    const moved = await newTenant("moved", 0)
    await admin.query(sql`UPDATE control_plane.tenant_databases SET status = 'migrating' WHERE id = ${moved.databaseId}`)
    cases.push([moved.name, "NoActiveDatabase", new RegExp(`^Tenant "${moved.name}" has no active database$`)])
    for (const [tenant, tag, message] of cases) {
      const error = await failureOf(TenantConnections.use((c) => c.withTenant(tenant, (db) => db.query(sql`SELECT 1`))))
      expect(error._tag, tenant).toBe(tag)
      expect(error.message).toMatch(message)
    }
    expect(pending).toBeDefined()
  })

  it("a connection string that does not decrypt is DecryptionFailed, naming the record, never the string", async () => {
    const tenant = await newTenant("tampered", 0)
    // Flip one character of the ciphertext, as someone writing the table by hand could.
    await admin.query(sql`
      UPDATE control_plane.tenant_databases
      SET connection_string_encrypted = overlay(connection_string_encrypted placing
        CASE WHEN substr(connection_string_encrypted, 20, 1) = 'A' THEN 'B' ELSE 'A' END FROM 20 FOR 1)
      WHERE id = ${tenant.databaseId}`)
    await within(2_000, async () => (await outcome(runtime, tenant.name)) === "DecryptionFailed")
    const error = await failureOf(TenantConnections.use((c) => c.withTenant(tenant.name, (db) => db.query(sql`SELECT 1`))))
    expect(error.message).toContain(tenant.databaseId)
    expect(error.message.includes(fleet.databases[0]!.url)).toBe(false)
  })

  it("a stored connection string the driver refuses is DbError ConnectionStringRefused, quoting no part of it; nothing is held", async () => {
    const tenant = await newTenant("refused", 0)
    // Written around TenantDatabases.register, which refuses it: an sslmode the driver does not know.
    const refused = "postgres://tenant_app:pw-Refused-9x@db-9.internal:5432/tenant_db?sslmode=bogus"
    await admin.query(sql`
      UPDATE control_plane.tenant_databases
      SET connection_string_encrypted = ${envelopeFor(await crypto(), refused, tenant.tenantId, tenant.databaseId)}
      WHERE id = ${tenant.databaseId}`)
    await within(2_000, async () => (await outcome(runtime, tenant.name)) === "DbError")
    const error = await failureOf(TenantConnections.use((c) => c.withTenant(tenant.name, (db) => db.query(sql`SELECT 1`))))
    expect(error).toMatchObject({ reason: { _tag: "ConnectionStringRefused" } })
    expect(error.message).toMatch(/^Database error: the PostgreSQL driver refused the stored connection string \(Expected "sslmode"/)
    for (const part of ["pw-Refused-9x", "tenant_app", "db-9.internal"]) expect(error.message).not.toContain(part)
    expect((await stats()).connectionsInUse).toBe(0)
  })

  it("a refusal whose message quotes the connection string (its host, its decoded password) is reported without it", async () => {
    const tenant = await newTenant("quoting", 0)
    const stored = "postgres://tenant_app:pw%40Quoted-7@db-7.internal:5432/tenant_db?application_name=quoted-app"
    await admin.query(sql`
      UPDATE control_plane.tenant_databases
      SET connection_string_encrypted = ${envelopeFor(await crypto(), stored, tenant.tenantId, tenant.databaseId)}
      WHERE id = ${tenant.databaseId}`)
    // A driver (or a replaced TenantPoolFactory) whose message quotes what it was given.
    const quoting = Layer.succeed(TenantPoolFactory, (config) => {
      const url = new URL(config.connectionString!)
      throw new Error(`cannot use ${url.hostname} as ${decodeURIComponent(url.password)} for ${url.searchParams.get("application_name")}`)
    })
    const r = makeRuntime({}, quoting)
    try {
      const error = await failureOf(TenantConnections.use((c) => c.withTenant(tenant.name, (db) => db.query(sql`SELECT 1`))), r)
      expect(error.message).toBe(
        "Database error: the PostgreSQL driver refused the stored connection string (the PostgreSQL driver cannot use it)"
      )
    } finally {
      await r.dispose()
    }
  })

  it("a budget of 0 or less, or a setting that is not a number, stops the layer with one sentence naming the variable", async () => {
    for (const budget of ["0", "-3"]) {
      const exit = await Effect.runPromiseExit(
        TenantConnections.useSync((service) => service).pipe(
          Effect.provide(ControlPlane.layer),
          Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ ...env, CONTROL_PLANE_CONNECTION_BUDGET: budget })))
        )
      )
      const error = Exit.isFailure(exit) ? (exit.cause.reasons[0] as unknown as { error: { _tag: string; message: string } }).error : undefined
      expect(error?._tag).toBe("TenantConnectionsConfigError")
      expect(error?.message).toBe(
        `CONTROL_PLANE_CONNECTION_BUDGET must be a whole number of at least 1, not ${budget}: it is the most connections all tenant pools may hold together`
      )
    }
    const exit = await Effect.runPromiseExit(
      TenantConnections.useSync((service) => service).pipe(
        Effect.provide(ControlPlane.layer),
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ ...env, CONTROL_PLANE_TENANT_POOL_MAX: "lots" })))
      )
    )
    const error = Exit.isFailure(exit) ? (exit.cause.reasons[0] as unknown as { error: { _tag: string; message: string } }).error : undefined
    expect(error?._tag).toBe("TenantConnectionsConfigError")
    expect(error?.message).toMatch(/^CONTROL_PLANE_TENANT_POOL_MAX is invalid: [^\n]+$/)
    expect(error?.message.includes("lots")).toBe(false)
  })
})

describe("the budget", () => {
  it("when every connection of the budget is busy and no pool is idle, a caller waits, then gets ConnectionBudgetExhausted", async () => {
    const r = makeRuntime({ CONTROL_PLANE_CONNECTION_BUDGET: "2", CONTROL_PLANE_TENANT_POOL_MAX: "1" })
    const [a, b, c] = await Promise.all([newTenant("busy-a", 0), newTenant("busy-b", 1), newTenant("busy-c", 2)])
    const release = await r.runPromise(Deferred.make<void>())
    const holders = [a, b].map((tenant) =>
      r.runFork(TenantConnections.use((connections) =>
        connections.withTenant(tenant.name, (db) => Effect.andThen(db.query(sql`SELECT 1`), Deferred.await(release)))
      ))
    )
    await within(5_000, async () => (await stats(r)).connectionsInUse === 2)
    const error = await failureOf(TenantConnections.use((connections) => connections.withTenant(c.name, (db) => db.query(sql`SELECT 1`))), r)
    expect(error._tag).toBe("ConnectionBudgetExhausted")
    expect(error.message).toMatch(/^No connection for tenant [0-9a-f-]{36} within \d+ ms: all 2 connections of the budget are in use and no pool is idle$/)
    await r.runPromise(Deferred.succeed(release, undefined))
    await Promise.all(holders.map((fiber) => r.runPromise(Fiber.join(fiber))))
    // Now the least recently used idle pool makes room.
    expect(await currentDatabase(r, c.name)).toBe(fleet.databases[2]!.name)
    const after = await stats(r)
    expect(after.evictions).toBeGreaterThanOrEqual(1)
    expect(after.connectionsOpen).toBeLessThanOrEqual(2)
    expect(after.checkoutWaitMs.p99).toBeGreaterThanOrEqual(250)
  })

  it("an interrupted wait leaves no waiter and no permit behind", async () => {
    const r = makeRuntime({ CONTROL_PLANE_CONNECTION_BUDGET: "1", CONTROL_PLANE_TENANT_POOL_MAX: "1", CONTROL_PLANE_CHECKOUT_TIMEOUT_MS: "10000" })
    const [a, b] = await Promise.all([newTenant("hold", 0), newTenant("wait", 1)])
    const release = await r.runPromise(Deferred.make<void>())
    const holder = r.runFork(TenantConnections.use((c) => c.withTenant(a.name, () => Deferred.await(release))))
    await within(5_000, async () => (await stats(r)).connectionsInUse === 1)
    const waiter = r.runFork(TenantConnections.use((c) => c.withTenant(b.name, (db) => db.query(sql`SELECT 1`))))
    await within(5_000, async () => (await stats(r)).waiters === 1)
    await r.runPromise(Fiber.interrupt(waiter))
    expect((await stats(r)).waiters).toBe(0)
    await r.runPromise(Deferred.succeed(release, undefined))
    await r.runPromise(Fiber.join(holder))
    expect(await currentDatabase(r, b.name)).toBe(fleet.databases[1]!.name)
    expect((await stats(r)).connectionsInUse).toBe(0)
  })

  it("a pool nobody uses closes after the idle time, and its connections leave pg_stat_activity", async () => {
    const r = makeRuntime({ CONTROL_PLANE_TENANT_POOL_IDLE_MS: "100" })
    const tenant = await newTenant("idle", 1)
    await currentDatabase(r, tenant.name)
    expect((await stats(r)).openPools).toBe(1)
    await within(3_000, async () => (await stats(r)).openPools === 0)
    expect((await stats(r)).idleClosed).toBe(1)
    expect((await stats(r)).connectionsOpen).toBe(0)
  })

  it("stats are also effect Metrics", async () => {
    const r = makeRuntime()
    const tenant = await newTenant("metrics", 0)
    await currentDatabase(r, tenant.name)
    const snapshot = await r.runPromise(Metric.snapshot)
    const byId = new Map(snapshot.map((metric) => [metric.id, metric.state as unknown]))
    expect(byId.get("control_plane_tenant_pools_open")).toEqual({ value: 1 })
    expect(byId.get("control_plane_tenant_connections_open")).toEqual({ value: 1 })
    expect(byId.get("control_plane_tenant_connections_in_use")).toEqual({ value: 0 })
    expect(byId.get("control_plane_tenant_checkout_waiters")).toEqual({ value: 0 })
    expect(byId.get("control_plane_tenant_pool_evictions_total")).toMatchObject({ count: 0 })
    expect(byId.get("control_plane_tenant_checkout_wait_ms")).toMatchObject({ count: 1 })
  })
})

describe("push invalidation", () => {
  it("a program that only uses Tenants opens no listener", async () => {
    const listeners = async () =>
      (await admin.query(sql`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = ${controlPlane.name} AND application_name = ${listenerApplicationName}`))[0]!.n as number
    const before = await listeners()
    const r = makeRuntime()
    await r.runPromise(Tenants.use((tenants) => tenants.findByName("system_admin")))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await listeners()).toBe(before)
    expect(await stats(r)).toMatchObject({ listening: false, listenerConnects: 0, openPools: 0 })
  })

  it("suspending a tenant in SQL makes withTenant refuse it within 1 s, while it was served from memory", async () => {
    const tenant = await newTenant("suspend", 0)
    await currentDatabase(runtime, tenant.name)
    await within(2_000, async () => (await stats()).listening)
    await currentDatabase(runtime, tenant.name)
    const { resolutions: { hits }, retired } = await stats()
    await currentDatabase(runtime, tenant.name)
    expect((await stats()).resolutions.hits).toBeGreaterThan(hits) // served from the cache
    await admin.query(sql`UPDATE control_plane.tenants SET status = 'suspended' WHERE tenant_id = ${tenant.tenantId}`)
    const tookMs = await within(1_000, async () => (await outcome(runtime, tenant.name)) === "TenantNotActive")
    expect(tookMs).toBeLessThan(1_000)
    // Its pool is drained and closed: a suspended tenant keeps no connection.
    await within(2_000, async () => (await stats()).retired > retired)
  })

  it("a second process using the library refuses the tenant within 1 s of the change", async () => {
    const tenant = await newTenant("second-process", 1)
    const child = spawn(process.execPath, [fileURLToPath(new URL("./fixtures/watchTenant.ts", import.meta.url)), tenant.name], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    try {
      const lines: Array<string> = []
      let stderr = ""
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => lines.push(...chunk.split("\n").filter(Boolean)))
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
      await within(20_000, async () => lines.some((line) => line.startsWith("ready") || line.startsWith("failed")))
      expect(lines[0], stderr).toMatch(/^ready \d+$/)
      await admin.query(sql`UPDATE control_plane.tenants SET status = 'suspended' WHERE tenant_id = ${tenant.tenantId}`)
      const committedAt = Date.now()
      await within(5_000, async () => lines.some((line) => line.startsWith("refused")))
      const [, at, tag] = lines.find((line) => line.startsWith("refused"))!.split(" ")
      expect(tag).toBe("TenantNotActive")
      expect(Number(at) - committedAt).toBeLessThan(1_000)
    } finally {
      child.kill()
    }
  })

  it("a changed connection string sends new work to the new database; work in flight finishes on the old one", async () => {
    const tenant = await newTenant("moving", 0)
    expect(await currentDatabase(runtime, tenant.name)).toBe(fleet.databases[0]!.name)
    const slow = runtime.runPromise(TenantConnections.use((c) =>
      c.withTenant(tenant.name, (db) =>
        db.query<{ name: string }>(sql`SELECT current_database() AS name FROM pg_sleep(0.3)`))
    ))
    await new Promise((resolve) => setTimeout(resolve, 50))
    const target = fleet.databases[2]!
    await admin.query(sql`
      UPDATE control_plane.tenant_databases
      SET connection_string_encrypted = ${envelopeFor(await crypto(), target.url, tenant.tenantId, tenant.databaseId)},
          database_name = ${target.name}
      WHERE id = ${tenant.databaseId}`)
    await within(1_000, async () => (await currentDatabase(runtime, tenant.name)) === target.name)
    expect((await slow)[0]!.name).toBe(fleet.databases[0]!.name)
    expect((await stats()).retired).toBeGreaterThanOrEqual(1)
  })

  it("after the listener's backend is killed, a change made meanwhile is still seen, and the listener comes back", async () => {
    const tenant = await newTenant("killed", 2)
    await currentDatabase(runtime, tenant.name)
    await within(2_000, async () => (await stats()).listening)
    const connects = (await stats()).listenerConnects
    const killed = await admin.query(sql`
      SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
      WHERE datname = ${controlPlane.name} AND application_name = ${listenerApplicationName}`)
    expect(killed.length).toBeGreaterThanOrEqual(1)
    await admin.query(sql`UPDATE control_plane.tenants SET status = 'suspended' WHERE tenant_id = ${tenant.tenantId}`)
    await within(2_000, async () => (await outcome(runtime, tenant.name)) === "TenantNotActive")
    await within(5_000, async () => {
      const now = await stats()
      return now.listening && now.listenerConnects > connects
    })
    // Served from memory again, and still right.
    expect(await outcome(runtime, tenant.name)).toBe("TenantNotActive")
  })

  it("a listener connection that accepts LISTEN but delivers nothing (PgBouncer in transaction mode) never makes the cache serve", async () => {
    const proxy = await startFaultyProxy(controlPlane.url)
    afterAllDisposals.push(proxy.close)
    proxy.mode = "dropNotifications"
    const r = makeRuntime({
      CONTROL_PLANE_LISTENER_URL: proxy.url,
      CONTROL_PLANE_CONNECT_TIMEOUT_MS: "500"
    })
    const tenant = await newTenant("pooler", 1)
    for (let i = 0; i < 5; i++) expect(await outcome(r, tenant.name)).toBe("ok")
    await new Promise((resolve) => setTimeout(resolve, 700)) // past the listener's first check
    expect(await stats(r)).toMatchObject({ listening: false, listenerConnects: 0 })
    expect((await stats(r)).resolutions.hits).toBe(0) // every lookup went to the database...
    await admin.query(sql`UPDATE control_plane.tenants SET status = 'suspended' WHERE tenant_id = ${tenant.tenantId}`)
    expect(await outcome(r, tenant.name)).toBe("TenantNotActive") // ...so a change is seen at once
  })

  it("a listener connection that dies silently is caught by its ping: the cache stops serving until it is back", async () => {
    const proxy = await startFaultyProxy(controlPlane.url)
    afterAllDisposals.push(proxy.close)
    const r = makeRuntime({
      CONTROL_PLANE_LISTENER_URL: proxy.url,
      CONTROL_PLANE_LISTENER_PING_MS: "100",
      CONTROL_PLANE_CONNECT_TIMEOUT_MS: "500"
    })
    const tenant = await newTenant("silent", 2)
    await outcome(r, tenant.name)
    await within(3_000, async () => (await stats(r)).listening)
    proxy.mode = "blackhole" // no reset, no error: packets just stop
    await within(2_000, async () => !(await stats(r)).listening)
    await admin.query(sql`UPDATE control_plane.tenants SET status = 'suspended' WHERE tenant_id = ${tenant.tenantId}`)
    expect(await outcome(r, tenant.name)).toBe("TenantNotActive")
    proxy.mode = "pass"
    await within(10_000, async () => (await stats(r)).listening)
    expect(await outcome(r, tenant.name)).toBe("TenantNotActive")
  })

  it("closing the layer while the listener's network is dead does not wait for the server's goodbye", async () => {
    const proxy = await startFaultyProxy(controlPlane.url)
    afterAllDisposals.push(proxy.close)
    const r = makeRuntime({
      CONTROL_PLANE_LISTENER_URL: proxy.url,
      CONTROL_PLANE_LISTENER_PING_MS: "60000", // no ping in flight: the listener is idle when the network dies
      CONTROL_PLANE_CONNECT_TIMEOUT_MS: "500"
    })
    const tenant = await newTenant("dead-network", 2)
    await outcome(r, tenant.name)
    await within(3_000, async () => (await stats(r)).listening)
    proxy.mode = "blackhole"
    // A dead network never acknowledges the Terminate and FIN of a polite end: TCP would retry for minutes.
    const disposed = await Promise.race([
      r.dispose().then(() => "disposed"),
      new Promise((resolve) => setTimeout(resolve, 10_000, "still waiting after 10 s"))
    ])
    expect(disposed).toBe("disposed")
  })

  it("race harness: lookups racing changes and their notifications leave 0 stale entries", async () => {
    // The control-plane Db hands each result back 20-40 ms after reading it:
    // timing a real database cannot be made to show on demand. Each round,
    // lookups of a tenant read its row, then the tenant changes and its
    // notification arrives while they are still on their way back: without
    // the generation counter they would write the old status into the cache.
    const slowDb = Layer.effect(Db, Db.useSync((db) => Db.of({
      query: <Row>(query: Parameters<typeof db.query>[0]) =>
        Effect.flatMap(db.query<Row>(query), (rows) => Effect.as(Effect.sleep(20 + Math.random() * 20), rows)),
      transaction: db.transaction
    })))
    const r = ManagedRuntime.make(
      TenantConnections.layerNoDeps.pipe(
        Layer.provide(Layer.mergeAll(slowDb, TenantConnectionsConfig.layer)),
        Layer.provide(Layer.mergeAll(Db.layerNoDeps, ConnectionStringCrypto.layer).pipe(Layer.provideMerge(DatabaseConfig.layer))),
        Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env)))
      )
    )
    afterAllDisposals.push(() => r.dispose())
    const connections = await r.runPromise(TenantConnections.useSync((service) => service))
    const resolve = (name: string) => r.runPromise(connections.resolve(name))
    const tenants = await registerTenants(controlPlane.url, await crypto(), "race", [0, 1, 2, 0].map((i) => fleet.databases[i]!))
    await resolve(tenants[0]!.name)
    await within(2_000, async () => (await r.runPromise(connections.stats())).listening)
    const refusedBefore = (await r.runPromise(connections.stats())).resolutions.refused
    const rounds = 20
    let stale = 0
    for (let round = 0; round < rounds; round++) {
      const tenant = tenants[round % tenants.length]!
      // A change that leaves the status as it is: its notification empties the
      // cache entry, so the lookups below go to the database.
      await admin.query(sql`UPDATE control_plane.tenants SET environment = environment WHERE tenant_id = ${tenant.tenantId}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
      const lookups = Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () => resolve(tenant.name))
      await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 6)) // their rows are read
      const [changed] = await admin.query(sql`
        UPDATE control_plane.tenants SET status = CASE status WHEN 'active' THEN 'suspended'::control_plane.tenant_status
          ELSE 'active'::control_plane.tenant_status END WHERE tenant_id = ${tenant.tenantId} RETURNING status::text`)
      await Promise.all(lookups)
      await new Promise((resolve) => setTimeout(resolve, 30)) // the notification has surely arrived
      // A stale write-back would be served from memory here (it is, with the
      // generation check removed: every round then counts as stale).
      if ((await resolve(tenant.name)).status !== changed!.status) stale++
    }
    const after = await r.runPromise(connections.stats())
    expect(stale).toBe(0)
    // The races did happen: results read before a change were refused after its notification.
    expect(after.resolutions.refused - refusedBefore).toBeGreaterThanOrEqual(rounds)
  })
})
