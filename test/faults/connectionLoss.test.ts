/**
 * The server out of reach, through a TCP proxy in front of it (proxy.ts; the
 * shared PostgreSQL itself is never stopped): refusing connections for a few
 * seconds and then coming back, and a connection cut in the middle of a
 * transaction. Callers get DbError(ConnectionError) meanwhile, the same pool
 * serves again once the server is back (no restart), and the invariants hold.
 */
import { sql } from "@databases/pg"
import { Effect, Exit, Fiber, type ManagedRuntime, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { TenantDatabases } from "../../src/services/TenantDatabases.ts"
import { Tenants } from "../../src/services/Tenants.ts"
import {
  auditLockWaiters,
  createFaultBed,
  type FaultBed,
  holdingAuditLock,
  type Services,
  servicesRuntime,
  waitUntil
} from "./harness.ts"
import { checkInvariants } from "./invariants.ts"
import { TcpProxy } from "./proxy.ts"

let bed: FaultBed
let proxy: TcpProxy
let runtime: ManagedRuntime.ManagedRuntime<Services, unknown>

beforeAll(async () => {
  bed = await createFaultBed("faults_connection")
  const target = new URL(bed.database.url)
  proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) })
  // Through the proxy, with a short connect timeout so that refusals surface quickly.
  runtime = servicesRuntime(bed, { url: proxy.urlFor(bed.database.url), connectTimeoutMs: 1_000, poolSize: 2 }, "new")
}, 120_000)
afterAll(async () => {
  await runtime?.dispose()
  await proxy?.close()
  await bed?.close()
})

const failureTag = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "success"
  const failure = exit.cause.reasons.find((reason) => reason._tag === "Fail")
  const error = failure?._tag === "Fail" ? (failure.error as { _tag?: string; reason?: { _tag: string } }) : undefined
  return error === undefined ? "defect" : `${error._tag}${error.reason === undefined ? "" : `(${error.reason._tag})`}`
}

describe("the server refusing connections, then back", () => {
  it("typed errors while it refuses; afterwards the same pool works again; nothing partial", async () => {
    const tenant = await runtime.runPromise(Tenants.use((t) => t.create({ name: "before-outage", environment: "staging" })))
    await proxy.refuse()
    const during: Array<string> = []
    const outageEnds = Date.now() + 3_000
    for (let i = 0; Date.now() < outageEnds; i++) {
      during.push(failureTag(await runtime.runPromiseExit(Tenants.use((t) => t.create({ name: `during-outage-${i}`, environment: "staging" })))))
      during.push(failureTag(await runtime.runPromiseExit(Tenants.use((t) => t.get(tenant.tenantId)))))
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    // Each call fails after about 2 s: the driver keeps trying to open a connection that long.
    expect(during.length).toBeGreaterThanOrEqual(2)
    expect(new Set(during)).toEqual(new Set(["DbError(ConnectionError)"]))
    await proxy.accept()
    // No restart: the runtime (and its pool) built before the outage serves the very next call.
    const after = await runtime.runPromise(Tenants.use((t) => t.create({ name: "after-outage", environment: "staging" })))
    expect(after.name).toBe("after-outage")
    const report = await checkInvariants(bed)
    const [row] = await bed.pool.query(sql`SELECT count(*)::int AS n FROM control_plane.tenants WHERE name LIKE 'during-outage-%'`)
    expect(row.n).toBe(0)
    expect(report.tenants).toBe(bed.baseline.length + 2)
  }, 60_000)
})

describe("a connection cut in the middle of a transaction", () => {
  it("a rotation batch: ConnectionError, the batch rolled back whole, the next run finishes", async () => {
    // Registered directly (not through the proxy) under the old key, so that the rotation has work.
    const seeding = servicesRuntime(bed)
    try {
      await seeding.runPromise(Effect.gen(function*() {
        const tenant = yield* Tenants.use((t) => t.findByName("after-outage"))
        yield* Effect.forEach([1, 2, 3, 4, 5], (i) =>
          TenantDatabases.use((r) =>
            r.register({ tenantId: tenant.tenantId, connectionString: Redacted.make(`postgres://u:p${i}@h${i}/d`), databaseName: `d${i}`, host: `h${i}` })
          ))
      }))
    } finally {
      await seeding.dispose()
    }
    const exit = await holdingAuditLock(bed, async (holder) => {
      const fiber = runtime.runFork(TenantDatabases.use((r) => r.reencryptAll({ batchSize: 5 })))
      await waitUntil("the batch waits inside its transaction", async () => (await auditLockWaiters(bed, holder)).length > 0)
      proxy.drop()
      return runtime.runPromise(Fiber.await(fiber))
    })
    expect(failureTag(exit)).toBe("DbError(ConnectionError)")
    expect((await checkInvariants(bed)).databasesUnder("new")).toBe(0)
    const done = await runtime.runPromise(TenantDatabases.use((r) => r.reencryptAll({ batchSize: 5 })))
    expect(done.reencrypted).toBe(5)
    expect((await checkInvariants(bed)).databasesUnder("new")).toBe(5)
  }, 60_000)
})
