/**
 * Fleet runs against the real PostgreSQL (see fleetSupport.ts): connections
 * within the budget, one run at a time, a run killed with SIGKILL and resumed
 * (0 versions applied twice, 0 skipped, the ledger complete), and status.
 */
import { spawn } from "node:child_process"
import { assert, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { sql } from "../../src/db/Db.ts"
import { ConnectionBudget } from "../../cli/src/fleet/ConnectionBudget.ts"
import { FleetMigrations } from "../../cli/src/fleet/FleetMigrations.ts"
import { ControlPlaneLocks } from "../../cli/src/fleet/advisoryLock.ts"
import { added, databaseStatuses, fleetFixture, fleetOf, historyOf, ledgerOf } from "./fleetSupport.ts"
import { controlPlaneRows, Fixture, scratchTemplate } from "./support.ts"

it.layer(Fixture.layer("fleet_runs"), { timeout: "240 seconds" })("Fleet runs", (it) => {
  it.effect("connections are taken within the budget: a budget of 1 lets one database (the engine's one connection) through at a time", () =>
    Effect.gen(function*() {
      const { root } = yield* scratchTemplate(added)
      let held = 0
      let most = 0
      let permits = 0
      // The budget of 1, watched: how many connections are held at once, and how many permits were asked.
      const watched = Layer.effect(
        ConnectionBudget,
        Effect.map(Effect.provide(ConnectionBudget, ConnectionBudget.layerOf(1)), (inner) =>
          ConnectionBudget.of({
            permit: (tenantId, connections) =>
              Effect.acquireRelease(
                Effect.tap(inner.permit(tenantId, connections), () =>
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
      assert.strictEqual(most, 1)
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
      const child = spawn(process.execPath, [fleetFixture], {
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

