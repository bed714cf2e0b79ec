/**
 * What the schema tools do on a database besides running the engine: run a
 * script (routines, seeds, the lock probe's setup) or a query, on a
 * connection opened for the purpose and closed with its scope. Through the
 * library's Db, so every driver failure is a classified DbError that names no
 * SQL and no connection string.
 */
import { Context, Effect, Layer, type Redacted, type Scope } from "effect"
import { DatabaseConfig, Db, type DbError, type DbService, sql } from "../library.ts"

/** A Db of one connection on `url`, closed when the scope closes. */
export const connect = (url: Redacted.Redacted<string>): Effect.Effect<DbService, never, Scope.Scope> =>
  Effect.map(
    Layer.build(Db.layerNoDeps.pipe(Layer.provide(DatabaseConfig.layerWith({ url, poolSize: 1 })))),
    (context) => Context.get(context, Db)
  )

/** Runs `use` with a connection on `url`, closed afterwards. */
export const withConnection = <A, E, R>(
  url: Redacted.Redacted<string>,
  use: (db: DbService) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => Effect.scoped(Effect.flatMap(connect(url), use))

/**
 * Runs a script of one or more statements as one simple query: PostgreSQL
 * runs it in one implicit transaction, so it applies whole or not at all.
 */
export const runScript = (url: Redacted.Redacted<string>, script: string): Effect.Effect<void, DbError> =>
  withConnection(url, (db) => db.query(sql.__dangerous__rawValue(script))).pipe(Effect.asVoid)

/** A query's rows on `url`. */
export const queryRows = <Row>(url: Redacted.Redacted<string>, query: Parameters<DbService["query"]>[0]): Effect.Effect<ReadonlyArray<Row>, DbError> =>
  withConnection(url, (db) => db.query<Row>(query))
