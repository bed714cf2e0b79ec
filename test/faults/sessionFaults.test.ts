/**
 * Faults of the database session, in-process through the services: the
 * session killed by pg_terminate_backend in the middle of a transaction, and a
 * statement timeout. Each write is frozen inside its transaction by the audit
 * append lock, the fault strikes there, and then: the caller gets a typed
 * DbError, the invariants hold (invariants.ts), and the same pool serves the
 * next call without a restart.
 */
import { sql } from "@databases/pg"
import { Effect, Exit, Fiber, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { TenantDatabases } from "../../src/services/TenantDatabases.ts"
import { Tenants } from "../../src/services/Tenants.ts"
import { auditLockWaiters, createFaultBed, type FaultBed, holdingAuditLock, servicesRuntime, waitUntil } from "./harness.ts"
import { checkInvariants } from "./invariants.ts"

let bed: FaultBed
let tenantId = ""

beforeAll(async () => {
  bed = await createFaultBed("faults_session")
  const runtime = servicesRuntime(bed)
  try {
    tenantId = await runtime.runPromise(Effect.gen(function*() {
      const tenant = yield* Tenants.use((t) => t.create({ name: "session-faults", environment: "staging" }))
      yield* Effect.forEach([1, 2, 3, 4, 5, 6], (i) =>
        TenantDatabases.use((r) =>
          // One active database, so the tenant may become active (the lifecycle's rule).
          r.register({
            tenantId: tenant.tenantId,
            connectionString: Redacted.make(`postgres://u:p${i}@h${i}/d`),
            databaseName: `d${i}`,
            host: `h${i}`,
            ...(i === 1 ? { status: "active" as const } : {})
          })
        ))
      return tenant.tenantId
    }))
  } finally {
    await runtime.dispose()
  }
}, 120_000)
afterAll(() => bed?.close())

/** The DbError reason a failed exit carries (undefined if it is not a DbError failure). */
const dbErrorReason = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")
  const failure = error?._tag === "Fail" ? (error.error as { _tag?: string; reason?: { _tag: string } }) : undefined
  return failure?._tag === "DbError" ? failure.reason?._tag : undefined
}

describe("pg_terminate_backend of the session mid-transaction", () => {
  it("a key rotation batch: DbError(ConnectionError), the batch rolled back whole, the pool recovers", async () => {
    const runtime = servicesRuntime(bed, {}, "new")
    try {
      const exit = await holdingAuditLock(bed, async (holder) => {
        const fiber = runtime.runFork(TenantDatabases.use((r) => r.reencryptAll({ batchSize: 4 })))
        await waitUntil("the batch waits inside its transaction", async () => (await auditLockWaiters(bed, holder)).length > 0)
        const [victim] = await auditLockWaiters(bed, holder)
        await bed.pool.query(sql`SELECT pg_terminate_backend(${victim}::int)`)
        return runtime.runPromise(Fiber.await(fiber))
      })
      expect(dbErrorReason(exit)).toBe("ConnectionError")
      const report = await checkInvariants(bed)
      expect(report.databasesUnder("new")).toBe(0)
      // Same runtime, same pool: the dead connection is replaced.
      const done = await runtime.runPromise(TenantDatabases.use((r) => r.reencryptAll({ batchSize: 4 })))
      expect(done.reencrypted).toBe(6)
      expect((await checkInvariants(bed)).databasesUnder("new")).toBe(6)
    } finally {
      await runtime.dispose()
    }
  }, 60_000)

  it("a tenant creation: DbError(ConnectionError), no tenant and no event, the pool recovers", async () => {
    const runtime = servicesRuntime(bed)
    try {
      const exit = await holdingAuditLock(bed, async (holder) => {
        const fiber = runtime.runFork(Tenants.use((t) => t.create({ name: "terminated", environment: "staging" })))
        await waitUntil("the insert waits on the audit lock", async () => (await auditLockWaiters(bed, holder)).length > 0)
        const [victim] = await auditLockWaiters(bed, holder)
        await bed.pool.query(sql`SELECT pg_terminate_backend(${victim}::int)`)
        return runtime.runPromise(Fiber.await(fiber))
      })
      expect(dbErrorReason(exit)).toBe("ConnectionError")
      const before = await checkInvariants(bed)
      const [row] = await bed.pool.query(sql`SELECT count(*)::int AS n FROM control_plane.tenants WHERE name = 'terminated'`)
      expect(row.n).toBe(0)
      await runtime.runPromise(Tenants.use((t) => t.create({ name: "terminated", environment: "staging" })))
      expect((await checkInvariants(bed)).tenants).toBe(before.tenants + 1)
    } finally {
      await runtime.dispose()
    }
  }, 60_000)
})

describe("statement timeout", () => {
  it("a write that waits past statement_timeout: DbError(QueryTimeout), nothing written, the pool goes on", async () => {
    const runtime = servicesRuntime(bed, { statementTimeoutMs: 300 })
    try {
      const before = await checkInvariants(bed)
      const exits = await holdingAuditLock(bed, async () => {
        const create = await runtime.runPromiseExit(Tenants.use((t) => t.create({ name: "timed-out", environment: "staging" })))
        const status = await runtime.runPromiseExit(Tenants.use((t) => t.setStatus(tenantId, "active")))
        return [create, status]
      })
      expect(exits.map(dbErrorReason)).toEqual(["QueryTimeout", "QueryTimeout"])
      const after = await checkInvariants(bed)
      expect([after.tenants, after.events]).toEqual([before.tenants, before.events])
      const tenant = await runtime.runPromise(Tenants.use((t) => t.setStatus(tenantId, "active")))
      expect(tenant.status).toBe("active")
      await checkInvariants(bed)
    } finally {
      await runtime.dispose()
    }
  }, 60_000)
})

describe("the invariants themselves", () => {
  it("catch a change made without its event (the recording trigger disabled)", async () => {
    // Recorded: the tenant is active, so that it may be suspended and resumed below.
    await bed.pool.query(sql`UPDATE control_plane.tenants SET status = 'active' WHERE tenant_id = ${tenantId} AND status <> 'active'`)
    await checkInvariants(bed)
    await bed.pool.tx(async (tx) => {
      await tx.query(sql`ALTER TABLE control_plane.tenants DISABLE TRIGGER audit_tenants`)
      await tx.query(sql`UPDATE control_plane.tenants SET status = 'suspended' WHERE tenant_id = ${tenantId}`)
      await tx.query(sql`ALTER TABLE control_plane.tenants ENABLE TRIGGER audit_tenants`)
    })
    await expect(checkInvariants(bed)).rejects.toThrow(/tenants differ from the replayed audit trail/)
    await bed.pool.tx(async (tx) => {
      await tx.query(sql`ALTER TABLE control_plane.tenants DISABLE TRIGGER audit_tenants`)
      await tx.query(sql`UPDATE control_plane.tenants SET status = 'active' WHERE tenant_id = ${tenantId}`)
      await tx.query(sql`ALTER TABLE control_plane.tenants ENABLE TRIGGER audit_tenants`)
    })
    await checkInvariants(bed)
  }, 60_000)
})
