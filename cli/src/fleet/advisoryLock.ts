/**
 * A PostgreSQL advisory lock on the control plane, held for a scope: by a
 * transaction that took `pg_try_advisory_xact_lock` and stays open until the
 * scope closes. If the process dies, its connection ends and PostgreSQL
 * releases the lock, so a crashed run never blocks the next one. (The Db pool
 * has no session of its own to hold a session-level lock on.)
 */
import { Deferred, Effect } from "effect"
import type { Scope } from "effect"
import { Db, type DbError, sql } from "../library.ts"

/** Takes the lock named `key` for the scope; false, at once, when another session holds it. */
export const holdAdvisoryLock = (key: string): Effect.Effect<boolean, DbError, Db | Scope.Scope> =>
  Effect.gen(function*() {
    const db = yield* Db
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
