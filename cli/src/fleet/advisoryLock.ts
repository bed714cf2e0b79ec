/**
 * PostgreSQL advisory locks on the control plane, held for a scope: by a
 * transaction that took `pg_try_advisory_xact_lock` and stays open until the
 * scope closes. If the process dies, its connection ends and PostgreSQL
 * releases the lock, so a crashed run never blocks the next one.
 *
 * A held lock keeps a connection busy for as long as it is held, so the locks
 * have a small pool of their own (ControlPlaneLocks): holding locks can never
 * take the connections the locked work itself needs.
 */
import { Context, Deferred, Effect, Layer } from "effect"
import type { Scope } from "effect"
import { DatabaseConfig, type DbError, type DbService, sql } from "../library.ts"
import { dbOn } from "./dbOn.ts"

/** Takes the lock named `key` on `db` for the scope; false, at once, when another session holds it. */
export const holdAdvisoryLock = (db: DbService, key: string): Effect.Effect<boolean, DbError, Scope.Scope> =>
  Effect.gen(function*() {
    const acquired = yield* Deferred.make<boolean, DbError>()
    yield* Effect.forkScoped(
      db.transaction(Effect.gen(function*() {
        const rows = yield* db.query<{ locked: boolean }>(
          sql`SELECT pg_try_advisory_xact_lock(hashtextextended(${key}, 0)) AS locked`
        )
        const locked = rows[0]?.locked === true
        yield* Deferred.succeed(acquired, locked)
        // Closing the scope interrupts this wait; the transaction rolls back and the lock goes with it.
        if (locked) yield* Effect.never
      })).pipe(Effect.catch((error) => Deferred.fail(acquired, error)))
    )
    return yield* Deferred.await(acquired)
  })

/** Locks held at once by one process at most (each holds one connection); more wait for a connection. */
export const lockConnections = 8

export class ControlPlaneLocks extends Context.Service<ControlPlaneLocks, {
  /** Holds the lock named `key` for the scope; false when another session holds it. */
  readonly hold: (key: string) => Effect.Effect<boolean, DbError, Scope.Scope>
}>()("control-plane-cli/ControlPlaneLocks") {
  /** Locks on the control plane DatabaseConfig names, through connections of their own. */
  static readonly layerNoDeps = Layer.effect(
    ControlPlaneLocks,
    Effect.gen(function*() {
      const { url } = yield* DatabaseConfig
      const db = yield* dbOn(url, lockConnections)
      return ControlPlaneLocks.of({ hold: (key) => holdAdvisoryLock(db, key) })
    })
  )

  /** Locks on the control plane of DATABASE_URL. */
  static readonly layer = ControlPlaneLocks.layerNoDeps.pipe(Layer.provide(DatabaseConfig.layer))
}
