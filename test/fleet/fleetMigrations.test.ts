/**
 * Fleet migrations against the real PostgreSQL: tenants provisioned at the
 * template's current version, then a scratch template with three more
 * migrations applied across the fleet (see fleetSupport.ts): every database
 * with a ledger row, a failing tenant, the failure limit, canaries, a dirty
 * database.
 */
import { assert, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { sql } from "../../src/db/Db.ts"
import { TenantDatabases } from "../../src/services/TenantDatabases.ts"
import { Tenants } from "../../src/services/Tenants.ts"
import { FleetMigrations } from "../../cli/src/fleet/FleetMigrations.ts"
import { adminUrl, withConnection } from "../support/testDatabase.ts"
import { added, asAdmin, databaseStatuses, fleetOf, historyOf, ledgerOf } from "./fleetSupport.ts"
import { Fixture, libraryOn, scratchTemplate, tenantName } from "./support.ts"

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
})
