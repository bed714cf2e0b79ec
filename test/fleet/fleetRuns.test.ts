/**
 * Fleet runs against the real PostgreSQL (see fleetSupport.ts): connections
 * within the budget, one run at a time, a move the lifecycle refuses, and status. A run killed with SIGKILL
 * and resumed is the fault suite's (test/faults/fleetRunKill.test.ts).
 */
import { assert, it } from "@effect/vitest"
import { appendFile, readdir } from "node:fs/promises"
import path from "node:path"
import { Effect, Fiber, Layer } from "effect"
import { sql } from "../../src/db/Db.ts"
import { ConnectionBudget } from "../../cli/src/fleet/ConnectionBudget.ts"
import { FleetMigrations } from "../../cli/src/fleet/FleetMigrations.ts"
import { ControlPlaneLocks } from "../../cli/src/fleet/advisoryLock.ts"
import { added, databaseStatuses, fleetOf, historyOf, ledgerOf } from "./fleetSupport.ts"
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

  it.effect("a database moved to error while it migrates: the run's move to active is refused, the ledger records the refusal, nothing else is written", () =>
    Effect.gen(function*() {
      const { root } = yield* scratchTemplate(added)
      const { controlPlane, fleet, tenants } = yield* fleetOf("refused", 1, root)
      const id = tenants[0]!.database.id
      const run = yield* Effect.flatMap(FleetMigrations, (f) => f.migrate({ concurrency: 1 })).pipe(Effect.provide(fleet), Effect.forkChild)
      // While the engine applies (the last added migration sleeps 0.2 s), someone marks the database error.
      yield* Effect.promise(async () => {
        for (let i = 0; i < 400; i++) {
          const moved = await controlPlaneRows<{ id: string }>(
            controlPlane.url,
            sql`UPDATE control_plane.tenant_databases SET status = 'error' WHERE id = ${id} AND status = 'migrating'
                AND EXISTS (SELECT 1 FROM control_plane.fleet_migrations WHERE database_id = ${id} AND status = 'running')
                RETURNING id`
          )
          if (moved.length === 1) return
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
        throw new Error("the database was never seen migrating")
      })
      const summary = yield* Fiber.join(run)
      assert.deepInclude(summary, { status: "failed", succeeded: 0, failed: 1 })
      const [row] = yield* ledgerOf(controlPlane.url)
      assert.strictEqual(row!.status, "failed")
      assert.match(row!.error!, /^Tenant database \S+ cannot move from error to active; /)
      assert.strictEqual((yield* databaseStatuses(controlPlane.url)).get(id), "error")
      // Only the refusal is recorded: the move to active and the succeeded row were one statement, refused whole.
      assert.strictEqual(row!.version_after, null)
    }))

  it.effect("an engine that refuses to start (a migration edited after atlas.sum): every database fails with its sentence, nothing is applied", () =>
    Effect.gen(function*() {
      const { root, versions } = yield* scratchTemplate(added)
      const { controlPlane, fleet, tenants } = yield* fleetOf("refusing", 2, root)
      const edited = (yield* Effect.promise(() => readdir(path.join(root, "migrations")))).find((f) => f.startsWith(versions[0]!))!
      yield* Effect.promise(() => appendFile(path.join(root, "migrations", edited), "-- edited after it was hashed\n"))
      const summary = yield* Effect.flatMap(FleetMigrations, (f) => f.migrate({ concurrency: 2 })).pipe(Effect.provide(fleet))
      assert.deepInclude(summary, { status: "failed", succeeded: 0, failed: 2, applied: 0 })
      for (const failure of summary.failures) {
        assert.match(failure.error, new RegExp(`^atlas\\.sum does not match the migration directory: ${edited} was edited`))
      }
      assert.deepStrictEqual([...(yield* databaseStatuses(controlPlane.url)).values()], ["error", "error"])
      for (const tenant of tenants) {
        assert.deepStrictEqual((yield* historyOf(tenant.database.databaseName)).log, [])
      }
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

