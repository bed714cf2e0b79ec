/**
 * SIGKILL of a fleet run (`fleet migrate` of the tenant template's pending
 * migrations to every tenant database), against the real PostgreSQL. The run
 * is a process group of its own (test/fleet/fixtures/fleetMigrate.ts, the
 * runner and the engines it starts), killed twice at points it cannot pass:
 *
 * 1. once two databases are settled, inside its next audited write (frozen
 *    there by holding the audit append lock, harness.ts): a ledger and status
 *    transaction, or a reveal, and whatever the other worker's engine is doing;
 * 2. resumed by a second process, which kills its group as soon as two more
 *    databases are settled: the other worker's engine mid-migration.
 *
 * After each kill, and after the same command resumes the run to its end,
 * the fault suite's invariants hold (invariants.ts: the tables equal the
 * audit trail replayed, every tenant and server connection string decrypts
 * bound to its row, the chain verifies, nothing idle in a transaction or
 * holding an advisory lock, in the control plane or the tenant databases,
 * the provisioning records whole) and so do the fleet's own: the ledger
 * whole and covering 100% of the databases, a row running exactly when its
 * database is migrating, none left migrating once resumed. And: 0 versions
 * applied twice, 0 skipped.
 */
import { assert, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { sql } from "../../src/db/Db.ts"
import { FleetMigrations } from "../../cli/src/fleet/FleetMigrations.ts"
import { added, databaseStatuses, fleetFixture, historyOf, ledgerOf, provisionedFleet } from "../fleet/fleetSupport.ts"
import { scratchTemplate } from "../fleet/support.ts"
import { type FaultBed, FaultBedService, killInsideWrite, spawnFixture } from "./harness.ts"
import { checkFleetRuns, checkPlacementInvariants } from "./invariants.ts"

/** Databases of the run settled so far. */
const settled = async (bed: FaultBed): Promise<number> => {
  const [row] = await bed.pool.query(sql`
    SELECT count(*)::int AS n FROM control_plane.fleet_migrations WHERE status IN ('succeeded', 'failed', 'skipped')`)
  return row.n
}

it.layer(FaultBedService.layer("faults_fleet_run"), { timeout: "240 seconds" })("SIGKILL of a fleet run", (it) => {
  it.effect("inside a write, then again between databases, then resumed to the end: the invariants hold after each; 0 versions applied twice, 0 skipped", () =>
    Effect.gen(function*() {
      const bed = yield* FaultBedService
      const { root, versions } = yield* scratchTemplate(added)
      const count = 8
      const { fleet, tenants } = yield* provisionedFleet(bed.database.url, bed.ring(), bed.prefix, "kill", count, root)
      const base = tenants[0]!.version!
      const env = { ...bed.cliEnv(), FIXTURE_TEMPLATE: root, FIXTURE_CONCURRENCY: "2" }

      // 1. Inside a write, once two databases are settled.
      const first = yield* Effect.promise(() =>
        killInsideWrite(bed, "fleet migrate", spawnFixture(fleetFixture, env), async () => (await settled(bed)) >= 2)
      )
      assert.strictEqual(first.signal, "SIGKILL")
      const afterFirst = yield* Effect.promise(() => checkPlacementInvariants(bed))
      assert.deepInclude(afterFirst.fleet, { runs: 1, unfinished: 1 })
      assert.isAbove(afterFirst.fleet.unsettled, 0, "the kill came before the end")

      // 2. Resumed by another process, which kills its group once two more databases are settled.
      const killAfter = (yield* Effect.promise(() => settled(bed))) + 2
      const second = yield* Effect.promise(() => spawnFixture(fleetFixture, { ...env, FIXTURE_KILL_AFTER: String(killAfter) }).exited)
      assert.strictEqual(second.signal, "SIGKILL", `the resumed run ended with code ${second.code}: ${second.stderr}`)
      const afterSecond = yield* Effect.promise(() => checkPlacementInvariants(bed))
      assert.deepInclude(afterSecond.fleet, { runs: 1, unfinished: 1 })
      assert.isAbove(afterSecond.fleet.unsettled, 0, "the second kill came before the end")
      const killed = yield* ledgerOf(bed.database.url)
      assert.isTrue(killed.filter((r) => r.status === "succeeded").length >= killAfter)

      // 3. The same command again, to the end.
      const resumed = yield* Effect.flatMap(FleetMigrations, (f) => f.migrate({ concurrency: 4 })).pipe(Effect.provide(fleet))
      assert.deepInclude(resumed, { status: "succeeded", resumed: true, total: count, succeeded: count, failed: 0, skipped: 0 })
      assert.strictEqual(resumed.runId, killed[0]!.run_id)
      const final = yield* Effect.promise(() => checkPlacementInvariants(bed))
      assert.deepStrictEqual(final.fleet, { runs: 1, unfinished: 0, unsettled: 0, migrating: 0 })
      assert.deepStrictEqual(final.steps, { activate: count })
      assert.deepStrictEqual(final.onServer, { roles: count, databases: count })
      // The ledger: every database, settled, from the version it had to the newest, all three files counted once.
      const ledger = yield* ledgerOf(bed.database.url)
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
      assert.isTrue([...(yield* databaseStatuses(bed.database.url)).values()].every((s) => s === "active"))
    }))

  it.effect("the fleet checks themselves catch a ledger row missing", () =>
    Effect.gen(function*() {
      const bed = yield* FaultBedService
      yield* Effect.promise(async () => {
        await bed.pool.query(sql`DELETE FROM control_plane.fleet_migrations WHERE position = 0`)
        await expect(checkFleetRuns(bed)).rejects.toThrow(/the ledger's positions/)
      })
    }))
})
