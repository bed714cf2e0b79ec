/**
 * Fleet migrations against the real PostgreSQL: tenants provisioned at the
 * template's current version, then a scratch template with three more
 * migrations applied across the fleet. Each test has a control plane of its
 * own (a fleet run takes every tenant database of its control plane).
 *
 * The added migrations log themselves into a table, so a version applied
 * twice shows as a second log row; one of them fails in a "poisoned" tenant
 * (one that has a project named poison), so failures can be placed.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { assert, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { DatabaseServers } from "../../src/services/DatabaseServers.ts"
import { TenantDatabases } from "../../src/services/TenantDatabases.ts"
import { Tenants } from "../../src/services/Tenants.ts"
import { sql } from "../../src/db/Db.ts"
import { ConnectionBudget } from "../../cli/src/fleet/ConnectionBudget.ts"
import { FleetMigrations } from "../../cli/src/fleet/FleetMigrations.ts"
import { Provisioning } from "../../cli/src/fleet/Provisioning.ts"
import { TenantSchema } from "../../cli/src/fleet/TenantSchema.ts"
import { ControlPlaneLocks } from "../../cli/src/fleet/advisoryLock.ts"
import { adminUrl, createMigratedTestDatabase, withConnection } from "../support/testDatabase.ts"
import { controlPlaneRows, Fixture, libraryOn, locksOn, provisioningOn, scratchTemplate, tenantName } from "./support.ts"

const added = [
  {
    name: "create_applied_log",
    sql: `CREATE TABLE "public"."applied_log" ("migration" text NOT NULL, "at" timestamptz NOT NULL DEFAULT now());
INSERT INTO "public"."applied_log" ("migration") VALUES ('m1');
`
  },
  {
    name: "refuse_poisoned_tenants",
    sql: `DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM "public"."projects" WHERE "name" = 'poison') THEN
    RAISE EXCEPTION 'this tenant is poisoned';
  END IF;
END $$;
INSERT INTO "public"."applied_log" ("migration") VALUES ('m2');
`
  },
  {
    name: "log_slowly",
    sql: `INSERT INTO "public"."applied_log" ("migration") VALUES ('m3');
SELECT pg_sleep(0.2);
`
  }
]

const fixture = fileURLToPath(new URL("./fixtures/fleetMigrate.ts", import.meta.url))

/** A database of the tenant, as the server's admin (superuser) sees it. */
const asAdmin = (database: string) => {
  const url = new URL(adminUrl())
  url.pathname = `/${database}`
  return url.toString()
}

/** What the tenant database says it went through: its revision versions and the log rows of the added migrations. */
const historyOf = (database: string) =>
  Effect.promise(() =>
    withConnection(asAdmin(database), async (db) => {
      const revisions = await db.query(sql`SELECT version FROM atlas_schema_revisions.atlas_schema_revisions ORDER BY version`)
      const logged = await db.query(sql`SELECT to_regclass('public.applied_log') IS NOT NULL AS exists`)
      const log = logged[0].exists
        ? await db.query(sql`SELECT migration FROM public.applied_log ORDER BY migration`)
        : []
      return { revisions: revisions.map((r) => r.version as string), log: log.map((r) => r.migration as string) }
    })
  )

/**
 * A control plane of the test's own with `count` provisioned tenants (at the
 * template's current version), the tenants named in `poisoned` given a
 * project named poison; gives the layers for fleet runs with the scratch
 * template and the tenants' databases in queue order.
 */
const fleetOf = (
  label: string,
  count: number,
  template: string,
  poisoned: ReadonlyArray<number> = [],
  budget: Layer.Layer<ConnectionBudget> = ConnectionBudget.layerOf(16)
) =>
  Effect.gen(function*() {
    const { keyRing, prefix } = yield* Fixture
    const controlPlane = yield* Effect.acquireRelease(
      Effect.promise(() => createMigratedTestDatabase(`fleet_${label}`)),
      (database) => Effect.promise(() => database.drop())
    )
    const provisioning = provisioningOn(controlPlane.url, keyRing.ring, 8)
    const tenants = yield* Effect.gen(function*() {
      yield* (yield* DatabaseServers).add({
        name: "local",
        host: "127.0.0.1",
        port: 5432,
        adminConnectionString: Redacted.make(adminUrl()),
        maxDatabases: 1000
      })
      const service = yield* Provisioning
      const provisioned = yield* Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) =>
        service.provision({ name: tenantName(`${label}-${i}`), environment: "development", namePrefix: prefix }), {
        concurrency: 4
      })
      // In the order a fleet run queues them (all are development tenants: by creation).
      const order = yield* Effect.promise(() =>
        controlPlaneRows<{ id: string }>(
          controlPlane.url,
          sql`SELECT d.id FROM control_plane.tenant_databases d JOIN control_plane.tenants t USING (tenant_id)
              ORDER BY t.environment, t.created_at, d.created_at, d.id`
        )
      )
      return order.map(({ id }) => provisioned.find((p) => p.database.id === id)!)
    }).pipe(Effect.provide(provisioning))
    for (const i of poisoned) {
      yield* Effect.promise(() =>
        withConnection(asAdmin(tenants[i]!.database.databaseName), (db) =>
          db.query(sql`INSERT INTO public.projects (name) VALUES ('poison')`)))
    }
    const fleet = FleetMigrations.layerNoDeps.pipe(
      Layer.provideMerge(Layer.mergeAll(TenantSchema.layerAt(template), budget, locksOn(controlPlane.url))),
      Layer.provideMerge(libraryOn(controlPlane.url, keyRing.ring))
    )
    return { controlPlane, fleet, tenants, env: { DATABASE_URL: controlPlane.url, ...keyRing.env } }
  })

interface LedgerRow {
  readonly database_id: string
  readonly status: string
  readonly version_before: string | null
  readonly version_after: string | null
  readonly applied: number
  readonly attempts: number
  readonly canary: boolean
  readonly error: string | null
  readonly position: number
}

const ledgerOf = (url: string) =>
  Effect.promise(() =>
    controlPlaneRows<LedgerRow & { run_id: string }>(
      url,
      sql`SELECT run_id, database_id, status::text, version_before, version_after, applied, attempts, canary, error, position
          FROM control_plane.fleet_migrations ORDER BY run_id, position`
    )
  )

const databaseStatuses = (url: string) =>
  Effect.promise(() =>
    controlPlaneRows<{ id: string; status: string }>(url, sql`SELECT id, status::text FROM control_plane.tenant_databases`)
  ).pipe(Effect.map((rows) => new Map(rows.map((r) => [r.id, r.status]))))

it.layer(Fixture.layer("fleet_migrations"), { timeout: "240 seconds" })("FleetMigrations", (it) => {
  it.effect("migrates every active tenant database, with a ledger row per database; a second run applies nothing", () =>
    Effect.gen(function*() {
      const { root, versions } = yield* scratchTemplate(added)
      const { controlPlane, fleet, tenants } = yield* fleetOf("all", 4, root)
      const base = tenants[0]!.version!
      const progress: Array<number> = []
      const summary = yield* Effect.flatMap(FleetMigrations, (f) =>
        f.migrate({ concurrency: 3 }, { onProgress: (p) => Effect.sync(() => progress.push(p.succeeded)) })).pipe(
          Effect.provide(fleet)
        )
      assert.deepInclude(summary, { status: "succeeded", resumed: false, total: 4, succeeded: 4, failed: 0, skipped: 0, applied: 12 })
      assert.strictEqual(summary.targetVersion, versions.at(-1))
      assert.deepStrictEqual(summary.failures, [])
      assert.deepStrictEqual(progress, [0, 1, 2, 3, 4, 4])
      const ledger = yield* ledgerOf(controlPlane.url)
      assert.deepStrictEqual(
        ledger.map(({ status, version_before, version_after, applied, attempts, error }) => ({ status, version_before, version_after, applied, attempts, error })),
        tenants.map(() => ({ status: "succeeded", version_before: base, version_after: versions.at(-1)!, applied: 3, attempts: 1, error: null }))
      )
      for (const tenant of tenants) {
        const history = yield* historyOf(tenant.database.databaseName)
        assert.deepStrictEqual(history.log, ["m1", "m2", "m3"])
        assert.deepStrictEqual(history.revisions.slice(-3), versions)
      }
      assert.isTrue([...(yield* databaseStatuses(controlPlane.url)).values()].every((s) => s === "active"))

      const again = yield* Effect.flatMap(FleetMigrations, (f) => f.migrate()).pipe(Effect.provide(fleet))
      assert.deepInclude(again, { status: "succeeded", total: 4, succeeded: 4, applied: 0 })
      assert.notStrictEqual(again.runId, summary.runId)
    }))

  it.effect("a migration failing in one tenant fails that database only; with --max-failures, no new work after F failures", () =>
    Effect.gen(function*() {
      const { root, versions } = yield* scratchTemplate(added)
      const { controlPlane, fleet, tenants } = yield* fleetOf("poison", 5, root, [1, 3])
      const summary = yield* Effect.flatMap(FleetMigrations, (f) => f.migrate({ concurrency: 2 })).pipe(Effect.provide(fleet))
      assert.deepInclude(summary, { status: "failed", total: 5, succeeded: 3, failed: 2, skipped: 0 })
      assert.deepStrictEqual(summary.failures.map((f) => f.databaseId), [tenants[1]!.database.id, tenants[3]!.database.id])
      for (const failure of summary.failures) {
        assert.match(failure.error, /refuse_poisoned_tenants.*this tenant is poisoned/)
        assert.isFalse(failure.error.includes("\n"))
      }
      const statuses = yield* databaseStatuses(controlPlane.url)
      assert.deepStrictEqual(tenants.map((t) => statuses.get(t.database.id)), ["active", "error", "active", "error", "active"])
      // The failed file rolled back: the poisoned tenants stop after the first added migration, recorded as such.
      const ledger = yield* ledgerOf(controlPlane.url)
      assert.deepInclude(ledger[1]!, { status: "failed", version_after: versions[0]!, applied: 1 })
      assert.deepStrictEqual((yield* historyOf(tenants[1]!.database.databaseName)).log, ["m1"])

      // Cured, one of them; the next run retries both error databases and stops after the first failure.
      yield* Effect.promise(() =>
        withConnection(asAdmin(tenants[1]!.database.databaseName), (db) => db.query(sql`DELETE FROM public.projects WHERE name = 'poison'`)))
      const retry = yield* Effect.flatMap(FleetMigrations, (f) => f.migrate({ concurrency: 1, maxFailures: 1 })).pipe(Effect.provide(fleet))
      // In queue order: 0 (nothing pending), 1 (cured) and 2 succeed, 3 fails, then 4 is not taken.
      assert.deepInclude(retry, { status: "stopped", total: 5, succeeded: 3, failed: 1, skipped: 1 })
      assert.deepStrictEqual(
        retry.failures.map((f) => [f.databaseId, f.status]),
        [[tenants[3]!.database.id, "failed"], [tenants[4]!.database.id, "skipped"]]
      )
      assert.strictEqual(retry.failures[1]!.error, "not migrated: the run stopped after 1 failures")
      assert.deepStrictEqual((yield* historyOf(tenants[1]!.database.databaseName)).log, ["m1", "m2", "m3"])
    }))

  it.effect("canaries go first; when one fails the rest are skipped and keep their version", () =>
    Effect.gen(function*() {
      const { root } = yield* scratchTemplate(added)
      const { controlPlane, fleet, tenants } = yield* fleetOf("canary", 4, root, [1])
      const summary = yield* Effect.flatMap(FleetMigrations, (f) => f.migrate({ concurrency: 4, canary: 2 })).pipe(Effect.provide(fleet))
      assert.deepInclude(summary, { status: "canary_failed", total: 4, succeeded: 1, failed: 1, skipped: 2 })
      const ledger = yield* ledgerOf(controlPlane.url)
      assert.deepStrictEqual(ledger.map((r) => [r.canary, r.status]), [[true, "succeeded"], [true, "failed"], [false, "skipped"], [false, "skipped"]])
      assert.strictEqual(ledger[2]!.error, "not migrated: a canary failed")
      for (const tenant of tenants.slice(2)) assert.deepStrictEqual((yield* historyOf(tenant.database.databaseName)).log, [])
      const statuses = yield* databaseStatuses(controlPlane.url)
      assert.deepStrictEqual(tenants.map((t) => statuses.get(t.database.id)), ["active", "error", "active", "active"])
    }))

  it.effect("a dirty tenant database (objects but no revision table) fails on its own with the engine's sentence; the others migrate", () =>
    Effect.gen(function*() {
      const { root } = yield* scratchTemplate(added)
      const { prefix } = yield* Fixture
      const { controlPlane, fleet, tenants } = yield* fleetOf("dirty", 2, root)
      // A tenant whose database was registered by hand and already holds tables, with no migration history.
      const dirtyName = `${prefix}dirty_${tenants[0]!.tenant.tenantId.slice(0, 8)}`
      yield* Effect.promise(() =>
        withConnection(adminUrl(), (db) => db.query(sql`CREATE DATABASE ${sql.ident(dirtyName)}`)))
      yield* Effect.promise(() => withConnection(asAdmin(dirtyName), (db) => db.query(sql`CREATE TABLE legacy (id int)`)))
      const dirty = yield* Effect.gen(function*() {
        const tenant = yield* (yield* Tenants).create({ name: tenantName("dirty-legacy"), environment: "development" })
        return yield* (yield* TenantDatabases).register({
          tenantId: tenant.tenantId,
          connectionString: Redacted.make(asAdmin(dirtyName)),
          databaseName: dirtyName,
          host: "127.0.0.1",
          status: "active"
        })
      }).pipe(Effect.provide(libraryOn(controlPlane.url, (yield* Fixture).keyRing.ring)))
      const summary = yield* Effect.flatMap(FleetMigrations, (f) => f.migrate({ concurrency: 2 })).pipe(Effect.provide(fleet))
      assert.deepInclude(summary, { status: "failed", total: 3, succeeded: 2, failed: 1 })
      assert.strictEqual(summary.failures[0]!.databaseId, dirty.id)
      assert.match(summary.failures[0]!.error, /^the database has no migration history but is not empty/)
      assert.strictEqual((yield* databaseStatuses(controlPlane.url)).get(dirty.id), "error")
    }))

  it.effect("connections are taken within the budget: a budget of 2 lets one database (two engine connections) through at a time", () =>
    Effect.gen(function*() {
      const { root } = yield* scratchTemplate(added)
      let held = 0
      let most = 0
      let permits = 0
      // The budget of 2, watched: how many connections are held at once, and how many permits were asked.
      const watched = Layer.effect(
        ConnectionBudget,
        Effect.map(Effect.provide(ConnectionBudget, ConnectionBudget.layerOf(2)), (inner) =>
          ConnectionBudget.of({
            size: inner.size,
            permit: (connections) =>
              Effect.acquireRelease(
                Effect.tap(inner.permit(connections), () =>
                  Effect.sync(() => {
                    permits++
                    held += connections
                    most = Math.max(most, held)
                  })),
                () => Effect.sync(() => void (held -= connections))
              )
          }))
      )
      const { fleet } = yield* fleetOf("budget", 3, root, [], watched)
      const summary = yield* Effect.flatMap(FleetMigrations, (f) => f.migrate({ concurrency: 3 })).pipe(Effect.provide(fleet))
      assert.deepInclude(summary, { status: "succeeded", succeeded: 3 })
      assert.strictEqual(permits, 3)
      assert.strictEqual(most, 2)
    }))

  it.effect("only one run at a time: a second is refused with FleetRunInProgress", () =>
    Effect.gen(function*() {
      const { root } = yield* scratchTemplate(added)
      const { fleet } = yield* fleetOf("exclusive", 1, root)
      const error = yield* Effect.gen(function*() {
        assert.isTrue(yield* (yield* ControlPlaneLocks).hold("control-plane:fleet-migrate"))
        return yield* Effect.flip(Effect.flatMap(FleetMigrations, (f) => f.migrate()))
      }).pipe(Effect.scoped, Effect.provide(fleet))
      assert.strictEqual(error._tag, "FleetRunInProgress")
      assert.match(error.message, /^Another `fleet migrate` is running against this control plane/)
    }))

  it.effect("kill -9 mid-run (the runner and its engines), then the same command again: 0 versions applied twice, 0 skipped, the ledger complete", () =>
    Effect.gen(function*() {
      const { root, versions } = yield* scratchTemplate(added)
      const count = 8
      const { controlPlane, fleet, tenants, env } = yield* fleetOf("kill", count, root)
      const base = tenants[0]!.version!
      // The runner in a process group of its own: SIGKILL to the group takes its engine processes too.
      const child = spawn(process.execPath, [fixture], {
        env: { ...process.env, ...env, FIXTURE_TEMPLATE: root, FIXTURE_CONCURRENCY: "2" },
        stdio: "ignore",
        detached: true
      })
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)))
      // Mid-run: once some databases are done and others are being worked on.
      yield* Effect.promise(async () => {
        for (let i = 0; i < 400; i++) {
          const rows = await controlPlaneRows<{ done: number; running: number }>(
            controlPlane.url,
            sql`SELECT count(*) FILTER (WHERE status = 'succeeded')::int AS done, count(*) FILTER (WHERE status = 'running')::int AS running
                FROM control_plane.fleet_migrations`
          )
          if (rows[0]!.done >= 2 && rows[0]!.running >= 1) return
          await new Promise((resolve) => setTimeout(resolve, 25))
        }
        throw new Error("the run never got going")
      })
      process.kill(-child.pid!, "SIGKILL")
      assert.strictEqual(yield* Effect.promise(() => exited), "SIGKILL")
      const killed = yield* ledgerOf(controlPlane.url)
      const [run] = yield* Effect.promise(() =>
        controlPlaneRows<{ status: string }>(controlPlane.url, sql`SELECT status::text FROM control_plane.fleet_runs`)
      )
      assert.strictEqual(run!.status, "running")
      assert.isTrue(killed.some((r) => r.status !== "succeeded"), "the kill came before the end")

      const resumed = yield* Effect.flatMap(FleetMigrations, (f) => f.migrate({ concurrency: 4 })).pipe(Effect.provide(fleet))
      assert.deepInclude(resumed, { status: "succeeded", resumed: true, total: count, succeeded: count, failed: 0, skipped: 0 })
      assert.strictEqual(resumed.runId, killed[0]!.run_id)
      // The ledger: every database, settled, from the version it had to the newest, all three files counted once.
      const ledger = yield* ledgerOf(controlPlane.url)
      assert.strictEqual(ledger.length, count)
      assert.deepStrictEqual(new Set(ledger.map((r) => r.database_id)), new Set(tenants.map((t) => t.database.id)))
      for (const row of ledger) {
        assert.deepInclude(row, { status: "succeeded", version_before: base, version_after: versions.at(-1)!, applied: 3 })
      }
      assert.strictEqual(resumed.applied, 3 * count)
      // Each database: every version once in its revision table, every added migration's work done once.
      for (const tenant of tenants) {
        const history = yield* historyOf(tenant.database.databaseName)
        assert.deepStrictEqual(history.log, ["m1", "m2", "m3"], tenant.database.databaseName)
        assert.deepStrictEqual(history.revisions, [...new Set(history.revisions)])
        assert.deepStrictEqual(history.revisions.slice(-3), versions)
      }
      assert.isTrue([...(yield* databaseStatuses(controlPlane.url)).values()].every((s) => s === "active"))
    }))

  it.effect("status: the versions across the fleet, read from each database, and the last run's failures", () =>
    Effect.gen(function*() {
      const { root, versions } = yield* scratchTemplate(added)
      const { fleet, tenants } = yield* fleetOf("status", 3, root, [2])
      const before = yield* Effect.flatMap(FleetMigrations, (f) => f.status()).pipe(Effect.provide(fleet))
      assert.strictEqual(before.targetVersion, versions.at(-1))
      assert.deepStrictEqual(before.versions, [{ version: tenants[0]!.version!, databases: 3 }])
      assert.isNull(before.lastRun)
      yield* Effect.flatMap(FleetMigrations, (f) => f.migrate({ concurrency: 3 })).pipe(Effect.provide(fleet))
      const after = yield* Effect.flatMap(FleetMigrations, (f) => f.status()).pipe(Effect.provide(fleet))
      assert.deepStrictEqual(after.versions, [{ version: versions[0]!, databases: 1 }, { version: versions.at(-1)!, databases: 2 }])
      assert.deepStrictEqual(after.databases.map((d) => d.pending), [0, 0, 2])
      assert.strictEqual(after.lastRun?.status, "failed")
      assert.deepStrictEqual(after.lastRun?.failures.map((f) => f.tenant), [tenants[2]!.tenant.name])
    }))
})

