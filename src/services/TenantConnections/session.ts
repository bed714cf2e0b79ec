/**
 * The TenantDb a withTenant callback gets: statements go to the tenant's pool
 * as `pool.query` does (a connection for the statement, back in the pool
 * before its rows come back), and a transaction holds one connection from
 * BEGIN to COMMIT. Holding a connection for the whole callback, as
 * `pool.task` does, made a warm `SELECT 1` cost 15-25% more (the driver wraps
 * the connection in an object with a lock per statement), and a callback
 * rarely needs it: what must share a session goes in a transaction.
 *
 * What the budget relies on (budget.ts): a session has at most one checkout
 * of the pool in flight (a statement, or a transaction's connection), so its
 * one permit covers it; statements of one callback run one at a time, in the
 * order they were issued. `end` (withTenant's callback is over) gives the
 * permit back once nothing is in flight, i.e. once the connection is back in
 * the pool, so a checkout taking that permit never makes the pool open a
 * connection beyond the ones its permits cover.
 */
import type { ConnectionPool, Queryable, SQLQuery, Transaction } from "@databases/pg"
import { Context, Effect, Fiber } from "effect"
import { runInTransaction } from "../../db/Db.ts"
import { toDbError } from "../../db/pgErrors.ts"
import type { DbError } from "../../domain/errors.ts"

/** A connection to one tenant's database, for the duration of a withTenant call. */
export interface TenantDb {
  /**
   * Runs one statement and gives its rows (`Row` is the caller's promise
   * about their shape). Outside a transaction each statement takes a pooled
   * connection for itself, so session state (SET, temporary tables, session
   * advisory locks) does not carry to the next one: use a transaction.
   * Statements of one callback run one at a time, in the order issued.
   */
  readonly query: <Row = Record<string, unknown>>(query: SQLQuery) => Effect.Effect<ReadonlyArray<Row>, DbError>
  /**
   * Runs `effect` in a transaction on one connection, held until it ends:
   * commit on success, rollback on failure or interruption; nested calls are
   * savepoints. Statements of the same callback outside `effect` wait for it.
   */
  readonly transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | DbError, R>
}

// The transaction the current fiber is in, tagged with the session it belongs
// to, so that the session of another withTenant never borrows it.
interface OpenTransaction {
  readonly session: TenantSession
  readonly transaction: Transaction
}
const CurrentTransaction = Context.Reference<OpenTransaction | undefined>(
  "control-plane/TenantConnections/CurrentTransaction",
  { defaultValue: () => undefined }
)

/** Used after its withTenant call ended (by a fiber that outlived the callback). */
const usedAfterEnd = new Error("A tenant connection was used after its withTenant call ended")
const ended = () => toDbError(usedAfterEnd)

/**
 * Starts `effect` in a transaction of `outer` (a pool: BEGIN on a connection
 * of its own; a transaction: a savepoint), as Db.transaction does, and resumes
 * with its outcome after `onSettled`. The promise settles once the
 * transaction has ended and its connection is back where it came from.
 */
const startTransaction = <A, E, R>(
  session: TenantSession,
  outer: Queryable,
  context: Context.Context<R>,
  effect: Effect.Effect<A, E, R>,
  signal: AbortSignal,
  resume: (outcome: Effect.Effect<A, E | DbError>) => void,
  onSettled: () => void
): Promise<void> =>
  runInTransaction(
    outer,
    (transaction) => Effect.runPromiseExitWith(Context.add(context, CurrentTransaction, { session, transaction }))(effect, { signal }),
    resume,
    onSettled
  )

export class TenantSession implements TenantDb {
  readonly #pool: ConnectionPool
  readonly #onEnd: () => void
  /** A checkout of the pool in flight: a statement or an outermost transaction. */
  #busy = false
  /** Work of this session waiting for the checkout in flight, in order. */
  readonly #queue: Array<() => void> = []
  /** Outermost transactions open (statements then check whether they run inside one). */
  #transactions = 0
  #ended = false
  #released = false

  /** `onEnd` gives the permit back: called once, after `end`, when nothing is in flight. */
  constructor(pool: ConnectionPool, onEnd: () => void) {
    this.#pool = pool
    this.#onEnd = onEnd
  }

  readonly query = <Row>(statement: SQLQuery): Effect.Effect<ReadonlyArray<Row>, DbError> =>
    // One step of the fiber, the statement's own wait: on a warm pool every
    // step of the Effect runtime shows in the ratio to a bare pool.query.
    Effect.callback<ReadonlyArray<Row>, DbError>((resume) => {
      const settle = (rows: ReadonlyArray<unknown>) => resume(Effect.succeed(rows as ReadonlyArray<Row>))
      const fail = (error: unknown) => resume(Effect.fail(toDbError(error)))
      // Which transaction the statement runs in is decided when it runs (it
      // may have been made outside the transaction it runs in), from the
      // running fiber's context; with no transaction open, nothing to look up.
      const open = this.#transactions === 0 ? undefined : Fiber.getCurrent()?.getRef(CurrentTransaction)
      if (open?.session === this) {
        open.transaction.query(statement).then(settle, fail)
        return
      }
      const run = () => {
        if (this.#ended) {
          fail(usedAfterEnd)
          return this.#next()
        }
        this.#busy = true
        this.#pool.query(statement).then(
          (rows) => {
            this.#done()
            settle(rows)
          },
          (error: unknown) => {
            this.#done()
            fail(error)
          }
        )
      }
      if (!this.#busy) return run()
      this.#queue.push(run)
      return this.#unqueue(run)
    })

  readonly transaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | DbError, R> =>
    CurrentTransaction.use((open) =>
      open?.session === this ? this.#savepoint(open.transaction, effect) : this.#outermost(effect)
    )

  /** withTenant's callback is over: the permit goes back once nothing is in flight. */
  end(): void {
    this.#ended = true
    if (!this.#busy) this.#next()
  }

  /** A transaction on a connection held from BEGIN to COMMIT, once the session's checkout in flight ends. */
  #outermost<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | DbError, R> {
    return Effect.flatMap(Effect.context<R>(), (context) =>
      Effect.callback<A, E | DbError>((resume, signal) => {
        let settled: Promise<void> | undefined
        const run = () => {
          if (this.#ended) {
            resume(Effect.fail(ended()))
            return this.#next()
          }
          this.#busy = true
          this.#transactions++
          settled = startTransaction(this, this.#pool, context, effect, signal, resume, () => {
            this.#transactions--
            this.#done()
          })
        }
        if (this.#busy) this.#queue.push(run)
        else run()
        // Interrupted: still queued, it leaves the queue; running, the signal
        // interrupts `effect` and this waits for the rollback.
        return Effect.suspend(() => (settled === undefined ? this.#unqueue(run) : Effect.promise(() => settled!)))
      }))
  }

  /** A savepoint in the transaction this fiber is in. */
  #savepoint<A, E, R>(transaction: Transaction, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | DbError, R> {
    return Effect.flatMap(Effect.context<R>(), (context) =>
      Effect.callback<A, E | DbError>((resume, signal) => {
        const settled = startTransaction(this, transaction, context, effect, signal, resume, () => {})
        return Effect.promise(() => settled)
      }))
  }

  /** Removes queued work whose fiber was interrupted before it ran. */
  #unqueue(run: () => void): Effect.Effect<void> {
    return Effect.sync(() => {
      const index = this.#queue.indexOf(run)
      if (index >= 0) this.#queue.splice(index, 1)
    })
  }

  /** The checkout in flight ended (its connection is back in the pool): next in line, or the permit back. */
  #done(): void {
    this.#busy = false
    this.#next()
  }

  #next(): void {
    const next = this.#queue.shift()
    if (next !== undefined) return next()
    if (this.#ended && !this.#released) {
      this.#released = true
      this.#onEnd()
    }
  }
}
