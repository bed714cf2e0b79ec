/**
 * The connections provisioning and fleet migrations open to tenant databases
 * (the schema engine's and the seeds'), counted against the process's one
 * global budget: work on a database starts only once its connections are
 * granted, and gives them back when it ends, however it ends.
 *
 * `layerNoDeps` takes the permits from TenantConnections' budget
 * (CONTROL_PLANE_CONNECTION_BUDGET, default 50; TenantConnections.reserve), so
 * a process that also serves tenants never holds more connections to tenant
 * databases than the one budget, and a fleet run may evict idle tenant pools
 * to make room. `layerOf(n)` is a budget of n of its own (tests, benchmarks).
 */
import { Context, Effect, Layer, Semaphore } from "effect"
import type { Scope } from "effect"
import { type ConnectionBudgetExhausted, TenantConnections } from "../library.ts"

export interface ConnectionBudgetService {
  /**
   * Holds `connections` connections of the budget for the scope, on behalf of
   * the tenant, waiting for them if need be (ConnectionBudgetExhausted when
   * the wait outlasts the checkout timeout).
   */
  readonly permit: (tenantId: string, connections: number) => Effect.Effect<void, ConnectionBudgetExhausted, Scope.Scope>
}

export class ConnectionBudget extends Context.Service<ConnectionBudget, ConnectionBudgetService>()(
  "control-plane-cli/ConnectionBudget"
) {
  /** A budget of exactly `size` connections of its own: a semaphore, which waits as long as it takes. */
  static readonly layerOf = (size: number) =>
    Layer.effect(
      ConnectionBudget,
      Effect.map(Semaphore.make(size), (semaphore) =>
        ConnectionBudget.of({
          permit: (_tenantId, connections) =>
            Effect.acquireRelease(
              Semaphore.take(semaphore, Math.min(connections, size)),
              (taken) => Semaphore.release(semaphore, taken)
            ).pipe(Effect.asVoid)
        }))
    )

  /** The permits of TenantConnections' global budget. */
  static readonly layerNoDeps = Layer.effect(
    ConnectionBudget,
    Effect.map(TenantConnections, (connections) =>
      ConnectionBudget.of({
        // The tenant ids come from the control plane's rows and the counts are
        // the tooling's own constants: an InvalidInput here is a bug, not a case.
        permit: (tenantId, count) => connections.reserve(tenantId, count).pipe(Effect.catchTag("InvalidInput", Effect.die))
      }))
  )
}
