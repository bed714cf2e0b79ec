/**
 * The connections provisioning and fleet migrations open to tenant databases
 * (the schema engine's and the seeds'), counted against one global budget:
 * work on a database starts only once its connections are granted, and gives
 * them back when it ends, however it ends.
 *
 *   CONTROL_PLANE_CONNECTION_BUDGET  connections to tenant databases at once (default 50)
 *
 * Merge note: the tenant data plane (issue 10) owns the process's global
 * budget (TenantConnections, same variable and default). Once it is on main,
 * `layer` becomes a permit taken from TenantConnections' budget, so that a
 * fleet run in a process that also serves tenants never exceeds the one
 * budget. Until then the budget is a semaphore of this process.
 */
import { Config, Context, Effect, Layer, Schema, Semaphore } from "effect"
import type { Scope } from "effect"

export interface ConnectionBudgetService {
  /** The budget's size: no permit may ask for more. */
  readonly size: number
  /** Holds `connections` connections of the budget until the scope closes, waiting for them if need be. */
  readonly permit: (connections: number) => Effect.Effect<void, never, Scope.Scope>
}

/** CONTROL_PLANE_CONNECTION_BUDGET is not a whole number of at least 1. */
export class ConnectionBudgetConfigError extends Schema.TaggedError<ConnectionBudgetConfigError>()(
  "ConnectionBudgetConfigError",
  { message: Schema.String }
) {}

export const defaultConnectionBudget = 50

/** A budget of `size` connections (tests, benches, or a caller that knows its share). */
const makeBudget = (size: number): Effect.Effect<ConnectionBudgetService> =>
  Effect.map(Semaphore.make(size), (semaphore) => ({
    size,
    permit: (connections) =>
      Effect.acquireRelease(
        Semaphore.take(semaphore, Math.min(connections, size)),
        (taken) => Semaphore.release(semaphore, taken)
      ).pipe(Effect.asVoid)
  }))

export class ConnectionBudget extends Context.Service<ConnectionBudget, ConnectionBudgetService>()(
  "control-plane-cli/ConnectionBudget"
) {
  /** A budget of exactly `size` connections. */
  static readonly layerOf = (size: number) => Layer.effect(ConnectionBudget, makeBudget(size))

  /** The budget from CONTROL_PLANE_CONNECTION_BUDGET. */
  static readonly layer = Layer.effect(
    ConnectionBudget,
    Effect.gen(function*() {
      const invalid = new ConnectionBudgetConfigError({
        message: "CONTROL_PLANE_CONNECTION_BUDGET must be a whole number of at least 1: it is how many connections to tenant databases may be open at once"
      })
      // The config error itself is not passed on: its text may quote what was read.
      const size = yield* Config.Int("CONTROL_PLANE_CONNECTION_BUDGET").pipe(
        Config.withDefault(defaultConnectionBudget),
        Effect.mapError(() => invalid)
      )
      if (size < 1) return yield* invalid
      return yield* makeBudget(size)
    })
  )
}
