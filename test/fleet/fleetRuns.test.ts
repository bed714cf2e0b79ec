/**
 * Fleet runs against the real PostgreSQL (see fleetSupport.ts): connections
 * within the budget, one run at a time, and status. A run killed with SIGKILL
 * and resumed is the fault suite's (test/faults/fleetRunKill.test.ts).
 */
import { assert, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { ConnectionBudget } from "../../cli/src/fleet/ConnectionBudget.ts"
import { FleetMigrations } from "../../cli/src/fleet/FleetMigrations.ts"
import { ControlPlaneLocks } from "../../cli/src/fleet/advisoryLock.ts"
import { added, fleetOf } from "./fleetSupport.ts"
import { Fixture, scratchTemplate } from "./support.ts"

it.layer(Fixture.layer("fleet_runs"), { timeout: "240 seconds" })("Fleet runs", (it) => {
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

