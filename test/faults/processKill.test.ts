/**
 * SIGKILL of a CLI process in the middle of a write: tenant creation and key
 * rotation. Each command is frozen inside its transaction by the audit append
 * lock, killed there, and then the invariants must hold: no partial rows,
 * every connection string decrypts, the audit chain verifies, nothing left
 * behind. Provisioning and fleet runs are killed in provisioning.test.ts and
 * fleetRunKill.test.ts (a fixture process each, for their scratch name
 * prefix and tenant template), with the same invariants and their own.
 */
import { sql } from "@databases/pg"
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { TenantDatabases } from "../../src/services/TenantDatabases.ts"
import { Tenants } from "../../src/services/Tenants.ts"
import { createFaultBed, type FaultBed, type KillCase, killDuringWrite, servicesRuntime, spawnCli } from "./harness.ts"
import { checkInvariants } from "./invariants.ts"

const DATABASES = 120
const BATCH = 10

let bed: FaultBed

beforeAll(async () => {
  bed = await createFaultBed("faults_kill")
  const runtime = servicesRuntime(bed, { poolSize: 3 })
  try {
    await runtime.runPromise(Effect.gen(function*() {
      const tenant = yield* Tenants.use((t) => t.create({ name: "fleet", environment: "production" }))
      yield* Effect.forEach(
        Array.from({ length: DATABASES }, (_, i) => i),
        (i) =>
          TenantDatabases.use((r) =>
            r.register({
              tenantId: tenant.tenantId,
              connectionString: Redacted.make(`postgres://app:pw-${i}@db-${i}.internal:5432/app_${i}`),
              databaseName: `app_${i}`,
              host: `db-${i}.internal`
            })
          ),
        { concurrency: 3, discard: true }
      )
    }))
  } finally {
    await runtime.dispose()
  }
}, 120_000)
afterAll(() => bed?.close())

const rowsUnder = async (keyId: string): Promise<number> => {
  const [row] = await bed.pool.query(sql`
    SELECT count(*)::int AS n FROM control_plane.tenant_databases WHERE split_part(connection_string_encrypted, ':', 2) = ${keyId}`)
  return row.n
}

/** Runs the command to its end; it must succeed. */
const runToEnd = async (args: ReadonlyArray<string>, primary: "old" | "new") => {
  const { code, stderr } = await spawnCli(args, bed.cliEnv(primary)).exited
  expect(code, stderr).toBe(0)
}

const cases: ReadonlyArray<KillCase & { readonly check: (report: Awaited<ReturnType<typeof checkInvariants>>) => Promise<void> }> = [
  {
    name: "tenants create",
    args: ["tenants", "create", "killed-while-creating", "-e", "staging"],
    // A statement on its own commits once the server gets to finish it, even with
    // its client gone: the tenant exists with its event, or neither does.
    check: async () => {
      const [row] = await bed.pool.query(sql`
        SELECT (SELECT count(*)::int FROM control_plane.tenants WHERE name = 'killed-while-creating') AS tenants,
               (SELECT count(*)::int FROM control_plane.audit_events WHERE changes -> 'name' ->> 'new' = 'killed-while-creating') AS events`)
      expect(row.tenants).toBe(row.events)
    }
  },
  {
    name: "keys rotate, after some batches, inside the next one",
    args: ["keys", "rotate", "--batch-size", String(BATCH)],
    primary: "new",
    after: async () => (await rowsUnder("new")) >= 2 * BATCH,
    // The frozen batch was a transaction of its own: it rolled back whole.
    check: async (report) => {
      const moved = report.databasesUnder("new")
      expect(moved % BATCH).toBe(0)
      expect(moved).toBeGreaterThanOrEqual(2 * BATCH)
      expect(moved).toBeLessThan(DATABASES)
    },
    // Run again, it resumes and finishes.
    finish: () => runToEnd(["keys", "rotate", "--batch-size", String(BATCH)], "new")
  }
]

describe("SIGKILL of the CLI in the middle of a write", () => {
  for (const kill of cases) {
    it(kill.name, async () => {
      const ended = await killDuringWrite(bed, kill)
      expect(ended.signal).toBe("SIGKILL")
      const report = await checkInvariants(bed)
      await kill.check(report)
      if (kill.finish !== undefined) {
        await kill.finish(bed)
        await checkInvariants(bed)
      }
    }, 60_000)
  }

  it("keys rotate, killed after it finished: every connection string is under the new key", async () => {
    const report = await checkInvariants(bed)
    expect(report.databasesUnder("new")).toBe(DATABASES)
  })

  it("tenants create, killed at whatever moment a timer says", async () => {
    for (const delay of [150, 400, 700]) {
      const child = spawnCli(["tenants", "create", `killed-after-${delay}ms`, "-e", "development"], bed.cliEnv())
      await new Promise((resolve) => setTimeout(resolve, delay))
      child.kill("SIGKILL")
      await child.exited
    }
    await checkInvariants(bed)
  }, 60_000)
})
