/**
 * What the schema tools do on a database besides running the engine: create
 * and drop scratch databases, run a script (routines, seeds, the lock probe's
 * setup) or a query, on a connection opened for the purpose and closed with
 * its scope.
 *
 * On node-postgres (`pg`) directly rather than the library's Db: each tool
 * opens short-lived connections, and @databases/pg waits 100 ms before every
 * new connection it opens, which would be most of the time of `db apply`.
 * Only the slice of `pg` the project uses is declared (src/db/pg.d.ts). Failures are classified into
 * a PostgresError whose message never holds a connection string or SQL text.
 */
import { Effect, Redacted, Schema, type Scope } from "effect"
import pg from "pg"

const { Client } = pg

export const PostgresErrorReason = Schema.Literals(["ServerUnreachable", "AuthFailed", "PermissionDenied", "Failed"])

/** The server could not be reached, refused the login, or refused a statement. */
export class PostgresError extends Schema.TaggedError<PostgresError>()("PostgresError", {
  reason: PostgresErrorReason,
  /** The SQLSTATE, when the server sent one. */
  code: Schema.optionalKey(Schema.String),
  message: Schema.String
}) {}

const socketErrors = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE"])

/** Classifies what `pg` throws; the server's own message is kept only for statement failures (it names no URL). */
export const classifyPostgresError = (error: unknown): PostgresError => {
  const { code, message } = (typeof error === "object" && error !== null ? error : {}) as { code?: unknown; message?: unknown }
  const text = typeof message === "string" ? message.split("\n")[0]! : ""
  if (typeof code !== "string" || socketErrors.has(code) || /^(08|57P0)/.test(code) || code === "3D000") {
    return new PostgresError({
      reason: "ServerUnreachable",
      ...(typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? { code } : {}),
      message: code === "3D000" ? "the database does not exist" : "the database server refused the connection or cannot be reached"
    })
  }
  if (code.startsWith("28")) return new PostgresError({ reason: "AuthFailed", code, message: "the server refused the login" })
  if (code === "42501") return new PostgresError({ reason: "PermissionDenied", code, message: `permission denied: ${text}` })
  return new PostgresError({ reason: "Failed", code, message: `${text} (SQLSTATE ${code})` })
}

export interface Connection {
  /** Runs one query (or a script of statements, when there are no values) and gives its rows. */
  readonly query: <Row = Record<string, unknown>>(
    text: string,
    values?: ReadonlyArray<unknown>
  ) => Effect.Effect<ReadonlyArray<Row>, PostgresError>
  /** Runs `effect` in a transaction: commit on success, rollback on failure or interruption. */
  readonly transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | PostgresError, R>
}

/** A connection to `url`, closed when the scope closes. */
export const connect = (url: Redacted.Redacted<string>): Effect.Effect<Connection, PostgresError, Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const client = new Client({ connectionString: Redacted.value(url), connectionTimeoutMillis: 10_000 })
          // A connection that breaks while idle must not crash the process; the next query reports it.
          client.on("error", () => undefined)
          await client.connect()
          return client
        },
        catch: classifyPostgresError
      }),
      (client) => Effect.promise(() => client.end().catch(() => undefined))
    )
    const query = <Row>(text: string, values?: ReadonlyArray<unknown>) =>
      Effect.tryPromise({
        try: () => client.query(text, values === undefined ? undefined : [...values]),
        catch: classifyPostgresError
      }).pipe(Effect.map((result) => result.rows as ReadonlyArray<Row>))
    const transaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | PostgresError, R> =>
      Effect.andThen(
        query("BEGIN"),
        effect.pipe(
          Effect.onExit((exit) => (exit._tag === "Success" ? Effect.void : Effect.ignore(query("ROLLBACK")))),
          Effect.tap(() => query("COMMIT"))
        )
      )
    return { query, transaction } satisfies Connection
  })

/** Runs `use` with a connection on `url`, closed afterwards. */
export const withConnection = <A, E, R>(
  url: Redacted.Redacted<string>,
  use: (connection: Connection) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | PostgresError, R> => Effect.scoped(Effect.flatMap(connect(url), use))

/**
 * Runs a script of one or more statements as one simple query: PostgreSQL
 * runs it in one implicit transaction, so it applies whole or not at all.
 */
export const runScript = (url: Redacted.Redacted<string>, script: string): Effect.Effect<void, PostgresError> =>
  withConnection(url, (connection) => connection.query(script)).pipe(Effect.asVoid)

/** A query's rows on `url`. */
export const queryRows = <Row>(
  url: Redacted.Redacted<string>,
  text: string,
  values?: ReadonlyArray<unknown>
): Effect.Effect<ReadonlyArray<Row>, PostgresError> => withConnection(url, (connection) => connection.query<Row>(text, values))

/** A quoted identifier. */
export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`
