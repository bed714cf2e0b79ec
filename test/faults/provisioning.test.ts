/**
 * Fault injection at every provisioning step, against the real PostgreSQL:
 *
 * - the process killed (SIGKILL) as each step starts and as each step's work
 *   is done but not yet recorded: a child process provisions and kills itself
 *   there (test/fleet/fixtures/provisionUntil.ts), the 14 kills each on a
 *   tenant of its own, 7 processes at a time;
 * - the server refusing: the tenant's server (its admin and tenant
 *   connections) or the control plane, each behind an in-process TCP proxy
 *   (proxy.ts) that cuts open connections and refuses new ones from the start
 *   of a step.
 *
 * After the kills, after their re-runs and after each kind of refusal, the
 * fault suite's invariants hold (invariants.ts: the tables equal the audit
 * trail replayed, every connection string and every server's admin
 * connection string decrypts bound to its row, the chain verifies, nothing
 * idle in a transaction or holding an advisory lock, in the control plane or
 * the tenant databases) and so do provisioning's own: every tenant has its
 * provisioning record and a database record consistent with the step it
 * records, the server has no role or database that no record names, and
 * none a record says was made is missing. Besides, a killed step is not
 * recorded, a failed step is recorded with a one-line reason (the database
 * `error` once registered), and running provisioning again finishes it.
 */
import { fileURLToPath } from "node:url"
import { assert, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { DatabaseServers } from "../../src/services/DatabaseServers.ts"
import { sql } from "../../src/db/Db.ts"
import { type ProvisioningStep, provisioningSteps } from "../../src/domain/enums.ts"
import { Provisioning } from "../../cli/src/fleet/Provisioning.ts"
import { withConnection } from "../support/testDatabase.ts"
import { asAdmin } from "../fleet/fleetSupport.ts"
import { addLocalServer, adminUrlVia, provisioningOn, tenantName } from "../fleet/support.ts"
import { type FaultBed, FaultBedService, spawnFixture } from "./harness.ts"
import {
  checkFleetRuns,
  checkPlacementInvariants,
  checkProvisioningRecords,
  checkServerAdminStrings,
  checkServerObjects,
  checkTenantDatabasesLeftClean
} from "./invariants.ts"
import { TcpProxy } from "./proxy.ts"

const fixture = fileURLToPath(new URL("../fleet/fixtures/provisionUntil.ts", import.meta.url))

interface RecordRow {
  readonly step: string
  readonly failed_step: string | null
  readonly error: string | null
  readonly attempts: number
  readonly database_status: string | null
}

const recordOf = (bed: FaultBed, name: string) =>
  Effect.promise(async () => {
    const rows = await bed.pool.query(
      sql`SELECT p.step::text, p.failed_step::text, p.error, p.attempts, d.status::text AS database_status
          FROM control_plane.tenants t
          JOIN control_plane.tenant_provisioning p USING (tenant_id)
          LEFT JOIN control_plane.tenant_databases d ON d.id = p.database_id
          WHERE t.name = ${name}`
    )
    return rows[0] as RecordRow | undefined
  })

/** The fault suite's invariants and provisioning's, as an Effect. */
const invariantsHold = (bed: FaultBed) => Effect.promise(() => checkPlacementInvariants(bed))

/** Provisions `name` to the end and checks the tenant and its database are active. */
const finish = (bed: FaultBed, name: string, server?: string) =>
  Effect.gen(function*() {
    const result = yield* (yield* Provisioning).provision({
      name,
      environment: "development",
      namePrefix: bed.prefix,
      ...(server === undefined ? {} : { server })
    })
    assert.strictEqual(result.tenant.status, "active")
    assert.strictEqual(result.database.status, "active")
    return result
  })

/** Every step event, in order: [step, phase]. */
const events = provisioningSteps.flatMap((step) => [[step, "start"], [step, "done"]] as const)

/** Runs `each` over `items`, `width` at a time (the machine has two cores and a shared PostgreSQL). */
const inBatches = <A, B, E, R>(items: ReadonlyArray<A>, width: number, each: (item: A) => Effect.Effect<B, E, R>) =>
  Effect.forEach(items, each, { concurrency: width })

it.layer(FaultBedService.layer("faults_provisioning"), { timeout: "240 seconds" })("Provisioning under faults", (it) => {
  it.effect("SIGKILL at the start and at the end of every step: the invariants hold after the kills and after the re-runs, which finish every tenant", () =>
    Effect.gen(function*() {
      const bed = yield* FaultBedService
      const layer = provisioningOn(bed.database.url, bed.ring())
      yield* addLocalServer("local").pipe(Effect.provide(layer))

      // The kills, each on a tenant of its own.
      const killed = yield* inBatches(events, 7, ([step, phase]) =>
        Effect.gen(function*() {
          const name = tenantName(`kill-${step}-${phase}`)
          const child = spawnFixture(fixture, {
            ...bed.cliEnv(),
            FIXTURE_TENANT: name,
            FIXTURE_PREFIX: bed.prefix,
            FIXTURE_KILL_AT: `${step}:${phase}`
          })
          const ended = yield* Effect.promise(() => child.exited)
          assert.strictEqual(ended.signal, "SIGKILL", `${step}:${phase} ended with code ${ended.code}: ${ended.stderr}`)
          const record = yield* recordOf(bed, name)
          if (step === "create_tenant" || step === "place") {
            // Both run in one transaction: a crash inside it leaves nothing at all.
            assert.isUndefined(record, `${step}:${phase}`)
          } else {
            // The step was not recorded: the record still names the one before it.
            assert.strictEqual(record?.step, provisioningSteps[provisioningSteps.indexOf(step) - 1], `${step}:${phase}`)
          }
          return { name, step, record }
        }))
      const afterKills = yield* invariantsHold(bed)
      // Two steps' kills (four processes) left nothing; each other kill left its tenant at the step before.
      const expected: Partial<Record<ProvisioningStep, number>> = {}
      for (const { record } of killed) if (record !== undefined) expected[record.step as ProvisioningStep] = (expected[record.step as ProvisioningStep] ?? 0) + 1
      assert.deepStrictEqual(afterKills.steps, expected)
      assert.strictEqual(afterKills.tenants - bed.baseline.length, killed.length - 4)
      assert.strictEqual(afterKills.servers, 1)

      // The same call again, for every killed tenant: it resumes (or starts over) and finishes.
      yield* inBatches(killed, 7, ({ name, step, record }) =>
        Effect.gen(function*() {
          const result = yield* finish(bed, name).pipe(Effect.provide(layer))
          assert.strictEqual(result.resumed, record !== undefined, step)
          assert.strictEqual((yield* recordOf(bed, name))?.step, "activate", step)
        }))
      const afterReRuns = yield* invariantsHold(bed)
      assert.deepStrictEqual(afterReRuns.steps, { activate: killed.length })
      assert.deepStrictEqual(afterReRuns.onServer, { roles: killed.length, databases: killed.length })
    }))

  /** A proxy in front of the local server for the scope. */
  const proxied = Effect.acquireRelease(
    Effect.promise(() => TcpProxy.start({ host: "127.0.0.1", port: 5432 })),
    (p) => Effect.promise(() => p.close())
  )

  it.effect("the tenant's server refusing at each step that uses it: the step and reason are recorded, the database is error, a re-run finishes", () =>
    Effect.gen(function*() {
      const bed = yield* FaultBedService
      const layer = provisioningOn(bed.database.url, bed.ring())
      const serverSteps: ReadonlyArray<ProvisioningStep> = ["create_role_and_database", "migrate", "seed"]
      // Each step's case on a server of its own behind a proxy of its own, all at once.
      yield* Effect.forEach(serverSteps, (refusedAt) =>
        Effect.gen(function*() {
          const proxy = yield* proxied
          const server = yield* Effect.flatMap(DatabaseServers, (servers) =>
            servers.add({
              name: `behind-proxy-${refusedAt.replaceAll("_", "-")}`,
              host: "127.0.0.1",
              port: proxy.port,
              adminConnectionString: Redacted.make(adminUrlVia(proxy.port)),
              maxDatabases: 100
            })).pipe(Effect.provide(layer))
          const name = tenantName(`refused-${refusedAt}`)
          const error = yield* Effect.flip(
            Effect.flatMap(Provisioning, (provisioning) =>
              provisioning.provision(
                { name, environment: "development", server: server.id, namePrefix: bed.prefix },
                { onStep: (event) => event.step === refusedAt && event.phase === "start" ? Effect.promise(() => proxy.refuse()) : Effect.void }
              )).pipe(Effect.provide(layer), Effect.ensuring(Effect.promise(() => proxy.accept())))
          )
          assert.strictEqual(error._tag, "ProvisioningFailed", refusedAt)
          assert.deepInclude(error, { tenant: name, step: refusedAt })
          assert.match(error.message, new RegExp(`^Provisioning tenant "${name}" failed at step ${refusedAt}: .+; run the same command again to resume$`))
          const record = yield* recordOf(bed, name)
          assert.strictEqual(record?.failed_step, refusedAt)
          assert.strictEqual(record?.database_status, "error")
          assert.isFalse(record!.error!.includes("\n"))
          assert.isFalse(record!.error!.includes("postgres://"))
          const result = yield* finish(bed, name).pipe(Effect.provide(layer))
          assert.isTrue(result.resumed)
          const after = yield* recordOf(bed, name)
          assert.deepInclude(after, { step: "activate", failed_step: null, error: null, attempts: 2, database_status: "active" })
        }).pipe(Effect.scoped), { concurrency: "unbounded", discard: true })
      yield* invariantsHold(bed)
    }))

  it.effect("the control plane refusing at each step that writes it: the invariants hold, and a re-run finishes", () =>
    Effect.gen(function*() {
      const bed = yield* FaultBedService
      const direct = provisioningOn(bed.database.url, bed.ring())
      const server = yield* addLocalServer("local-for-control-plane-faults").pipe(Effect.provide(direct))
      const controlPlaneSteps: ReadonlyArray<ProvisioningStep> = ["create_tenant", "place", "register", "activate"]
      // Each step's case through a proxy of its own to the control plane, all at once.
      const names = yield* Effect.forEach(controlPlaneSteps, (refusedAt) =>
        Effect.gen(function*() {
          const proxy = yield* proxied
          const viaProxy = new URL(bed.database.url)
          viaProxy.port = String(proxy.port)
          const name = tenantName(`cp-refused-${refusedAt}`)
          const throughProxy = Layer.fresh(provisioningOn(viaProxy.toString(), bed.ring()))
          const error = yield* Effect.flip(
            Effect.flatMap(Provisioning, (provisioning) =>
              provisioning.provision(
                { name, environment: "development", server: server.id, namePrefix: bed.prefix },
                { onStep: (event) => event.step === refusedAt && event.phase === "start" ? Effect.promise(() => proxy.refuse()) : Effect.void }
              )).pipe(Effect.provide(throughProxy), Effect.ensuring(Effect.promise(() => proxy.accept())))
          )
          assert.include(["DbError", "ProvisioningFailed"], error._tag, refusedAt)
          return name
        }).pipe(Effect.scoped), { concurrency: "unbounded" })
      yield* invariantsHold(bed)
      yield* Effect.forEach(names, (name) =>
        Effect.gen(function*() {
          const result = yield* finish(bed, name, server.id).pipe(Effect.provide(direct))
          assert.strictEqual((yield* recordOf(bed, name))?.step, "activate", name)
          assert.strictEqual(result.tenant.status, "active")
        }), { concurrency: "unbounded", discard: true })
      yield* invariantsHold(bed)
    }))

  it.effect("the provisioning checks themselves catch a record out of step, an orphan role, an admin connection string of another server, a tenant database's session left in a transaction with a lock, a database migrating outside a run", () =>
    Effect.gen(function*() {
      const bed = yield* FaultBedService
      const caught = (check: () => Promise<unknown>, message: RegExp, tamper: string, undo: string) =>
        Effect.promise(async () => {
          await bed.pool.query(sql.__dangerous__rawValue(tamper))
          try {
            await expect(check()).rejects.toThrow(message)
          } finally {
            await bed.pool.query(sql.__dangerous__rawValue(undo))
          }
          await check()
        })
      const [done] = yield* Effect.promise(() =>
        bed.pool.query(sql`
          SELECT tenant_id, database_id, database_name FROM control_plane.tenant_provisioning WHERE step = 'activate' LIMIT 1`)
      )
      yield* caught(
        () => checkProvisioningRecords(bed),
        /tenants whose provisioning is partial/,
        `UPDATE control_plane.tenant_provisioning SET step = 'seed' WHERE tenant_id = '${done.tenant_id}'`,
        `UPDATE control_plane.tenant_provisioning SET step = 'activate' WHERE tenant_id = '${done.tenant_id}'`
      )
      yield* caught(
        () => checkServerObjects(bed),
        /roles and databases on the server that no provisioning record names/,
        `CREATE ROLE ${bed.prefix}orphan`,
        `DROP ROLE ${bed.prefix}orphan`
      )
      // Two servers' admin connection strings swapped: each is bound to the other's row.
      const swap = `UPDATE control_plane.database_servers s SET admin_connection_string_encrypted = o.admin_connection_string_encrypted
        FROM control_plane.database_servers o WHERE s.name IN ('local', 'local-for-control-plane-faults')
          AND o.name IN ('local', 'local-for-control-plane-faults') AND o.id <> s.id`
      yield* caught(() => checkServerAdminStrings(bed), /admin connection strings that no longer decrypt/, swap, swap)
      // A tenant database's session left in a transaction holding an advisory lock (as a killed engine's would be).
      yield* Effect.promise(() =>
        withConnection(asAdmin(done.database_name), (db) =>
          db.tx(async (tx) => {
            await tx.query(sql`SELECT pg_advisory_xact_lock(42)`)
            await expect(checkTenantDatabasesLeftClean(bed)).rejects.toThrow(/left behind in the tenant databases/)
          }))
      )
      yield* Effect.promise(() => checkTenantDatabasesLeftClean(bed))
      yield* caught(
        () => checkFleetRuns(bed),
        /databases migrating without their ledger row running/,
        `UPDATE control_plane.tenant_databases SET status = 'migrating' WHERE id = '${done.database_id}'`,
        `UPDATE control_plane.tenant_databases SET status = 'active' WHERE id = '${done.database_id}'`
      )
    }))
})
