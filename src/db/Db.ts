/**
 * The Db service: one @databases/pg connection pool, opened when the layer is
 * built and disposed when its scope closes, with queries and transactions as
 * Effects. Every driver failure becomes a DbError classified by pgErrors.ts,
 * so no SQL text, parameter or connection string ever reaches a caller.
 *
 * Queries inside `transaction(effect)` run on that transaction's connection;
 * it commits when the effect succeeds and rolls back when it fails, dies or is
 * interrupted. Nested transactions become savepoints.
 */
import pg, { sql } from "@databases/pg"
import type { ConnectionPool, Queryable, SQLQuery, Transaction } from "@databases/pg"
import { Context, Effect, Exit, Layer, Redacted } from "effect"
import { DbError, InvalidInput } from "../domain/errors.ts"
import { DatabaseConfig, DatabaseConfigError } from "./DatabaseConfig.ts"
import type { DatabaseSettings } from "./DatabaseConfig.ts"
import { classifyPgError, toDbError } from "./pgErrors.ts"

export { sql }
export type { SQLQuery }

export interface DbService {
  /**
   * Runs one statement and gives its rows. `Row` is the caller's promise about
   * their shape: use the generated row types of src/db/generated/.
   */
  readonly query: <Row = Record<string, unknown>>(query: SQLQuery) => Effect.Effect<ReadonlyArray<Row>, DbError>
  /** Runs `effect` in one transaction: commit on success, rollback on failure or interruption. */
  readonly transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | DbError, R>
}

// The transaction the current fiber is in, tagged with the pool it belongs
// to, so that a second Db (another pool) never borrows it.
interface OpenTransaction {
  readonly pool: ConnectionPool
  readonly transaction: Transaction
}
const CurrentTransaction = Context.Reference<OpenTransaction | undefined>("control-plane/Db/CurrentTransaction", {
  defaultValue: () => undefined
})

// Thrown inside the driver's tx callback to make it roll back; never escapes.
const rollback = Symbol("rollback")

/**
 * Runs an effect in a transaction of `outer` (a pool: BEGIN on a connection
 * of its own; a transaction: a savepoint): `runIn` runs it with the
 * transaction in its context and gives its Exit; commit on success, rollback
 * on failure (interruption included), then `onSettled`, then `resume` with
 * the outcome. The promise settles once the transaction has ended and its
 * connection is back where it came from. Db.transaction and a tenant
 * session's (TenantConnections) are both this.
 */
export const runInTransaction = <A, E>(
  outer: Queryable,
  runIn: (transaction: Transaction) => Promise<Exit.Exit<A, E>>,
  resume: (outcome: Effect.Effect<A, E | DbError>) => void,
  onSettled: () => void = () => {}
): Promise<void> => {
  let inner: Exit.Exit<A, E> | undefined
  return outer
    .tx(async (transaction) => {
      inner = await runIn(transaction)
      if (Exit.isFailure(inner)) throw rollback
      return inner.value
    })
    .then(
      (value) => {
        onSettled()
        resume(Effect.succeed(value))
      },
      // After a rollback the effect's own failure wins; anything else is
      // the driver failing to connect, begin or commit.
      (error: unknown) => {
        onSettled()
        resume(inner !== undefined && Exit.isFailure(inner) ? inner : Effect.fail(toDbError(error)))
      }
    )
}

/** decodeURIComponent, or the text as it is when it is not a valid escape (the driver may be refusing just that). */
const decoded = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * The parts of a connection string an error message must not quote: user and
 * password (as written and decoded), host, database and every parameter's
 * value of a URL; every value of libpq key=value pairs; and the whole string.
 * Parts under 3 characters count only when they are the password: any message
 * would contain them.
 */
const secretParts = (text: string): ReadonlyArray<string> => {
  if (!URL.canParse(text)) {
    const values = text.split(/\s+/).map((pair) => pair.slice(pair.indexOf("=") + 1).replace(/^'|'$/g, ""))
    return [text, ...values.filter((value) => value.length >= 3)]
  }
  const url = new URL(text)
  const passwords = [url.password, decoded(url.password)].filter((password) => password !== "")
  const others = [url.username, decoded(url.username), url.hostname, url.host, decoded(url.pathname.slice(1)), ...url.searchParams.values()]
  return [text, ...passwords, ...others.filter((part) => part.length >= 3)]
}

/**
 * Why the driver refused a connection string (an sslmode it does not know, a
 * malformed percent-escape): its reason, unless that quotes any part of the
 * string (which may hold the password), else a fixed sentence.
 */
export const refusalReason = (connectionString: Redacted.Redacted<string>, error: unknown): string => {
  const reason = error instanceof Error ? error.message.split("\n")[0]!.trim() : ""
  const safe = reason !== "" && secretParts(Redacted.value(connectionString)).every((part) => !reason.includes(part))
  return safe ? reason : "the PostgreSQL driver cannot use it"
}

/** DATABASE_URL parsed as a URL, but the driver refused it. */
const urlRefused = (url: Redacted.Redacted<string>, error: unknown): DatabaseConfigError =>
  new DatabaseConfigError({ variable: "DATABASE_URL", message: `DATABASE_URL is invalid: ${refusalReason(url, error)}` })

/**
 * Refuses a connection string the driver would refuse when it is used (making
 * a pool parses it and connects to nothing), as InvalidInput in decodeInput's
 * format: `what` names the input, `field` the key that holds the string. For
 * strings stored to be used later (a tenant database's, a server's admin one).
 */
export const checkDriverAccepts = (
  connectionString: Redacted.Redacted<string>,
  what: string,
  field: string
): Effect.Effect<void, InvalidInput> =>
  Effect.suspend(() => {
    try {
      void pg.default({ connectionString: Redacted.value(connectionString), bigIntMode: "bigint" }).dispose()
      return Effect.void
    } catch (error) {
      return Effect.fail(
        new InvalidInput({ message: `Invalid ${what}: ${refusalReason(connectionString, error)}\n  at ${JSON.stringify([field])}` })
      )
    }
  })

/** Opens the pool. Nothing connects until the first query. */
export const openPool = (settings: DatabaseSettings, onIdleError: (error: Error) => void): ConnectionPool =>
  pg.default({
    connectionString: Redacted.value(settings.url),
    bigIntMode: "bigint",
    poolSize: settings.poolSize,
    statementTimeoutMilliseconds: settings.statementTimeoutMs,
    connectionTimeoutMilliseconds: settings.connectTimeoutMs,
    queueTimeoutMilliseconds: settings.queueTimeoutMs,
    onError: onIdleError
  })

const makeDb = (pool: ConnectionPool): DbService => {
  const queryableFor = (open: OpenTransaction | undefined): Queryable =>
    open !== undefined && open.pool === pool ? open.transaction : pool

  const query = <Row>(statement: SQLQuery): Effect.Effect<ReadonlyArray<Row>, DbError> =>
    CurrentTransaction.use((open) =>
      Effect.tryPromise({ try: () => queryableFor(open).query(statement), catch: toDbError })
    )

  const transaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | DbError, R> =>
    Effect.gen(function*() {
      const context = yield* Effect.context<R>()
      const outer = queryableFor(yield* CurrentTransaction)
      return yield* Effect.callback<A, E | DbError>((resume, signal) => {
        const settled = runInTransaction(
          outer,
          (transaction) => Effect.runPromiseExitWith(Context.add(context, CurrentTransaction, { pool, transaction }))(effect, { signal }),
          resume
        )
        // On interruption the signal interrupts the inner fiber; wait for the rollback.
        return Effect.promise(() => settled)
      })
    })

  return { query, transaction }
}

export class Db extends Context.Service<Db, DbService>()("control-plane/Db") {
  /** Db on the settings of DatabaseConfig; the pool lives as long as the layer. */
  static readonly layerNoDeps = Layer.effect(
    Db,
    Effect.gen(function*() {
      const settings = yield* DatabaseConfig
      const context = yield* Effect.context<never>()
      // A pooled connection that fails while idle is replaced by the pool;
      // say so in the log, by reason only (the driver message may name the host).
      const onIdleError = (error: Error) =>
        Effect.runForkWith(context)(
          Effect.logWarning("An idle database connection failed and was dropped", classifyPgError(error)._tag)
        )
      const pool = yield* Effect.acquireRelease(
        Effect.try({ try: () => openPool(settings, onIdleError), catch: (error) => urlRefused(settings.url, error) }),
        (pool) => Effect.promise(() => pool.dispose())
      )
      return Db.of(makeDb(pool))
    })
  )

  /** Db configured from the environment (DatabaseConfig.layer). */
  static readonly layer = Db.layerNoDeps.pipe(Layer.provide(DatabaseConfig.layer))
}
