/**
 * How the control plane reaches its database, read from the environment:
 *
 *   DATABASE_URL                          required; held as Redacted, never printed
 *   CONTROL_PLANE_POOL_SIZE               connections in the pool (default 10)
 *   CONTROL_PLANE_STATEMENT_TIMEOUT_MS    server-side limit per statement (default 30000)
 *   CONTROL_PLANE_CONNECT_TIMEOUT_MS      limit for opening a connection (default 10000)
 *   CONTROL_PLANE_QUEUE_TIMEOUT_MS        limit for waiting on a pooled connection (default 60000)
 *
 * A missing or malformed setting is a DatabaseConfigError whose message is
 * one sentence naming the variable, never quoting its value.
 */
import { Config, Context, Effect, Layer, Option, Schema, SchemaIssue } from "effect"
import type { Redacted } from "effect"

export interface DatabaseSettings {
  readonly url: Redacted.Redacted<string>
  readonly poolSize: number
  readonly statementTimeoutMs: number
  readonly connectTimeoutMs: number
  readonly queueTimeoutMs: number
}

/** The defaults, as documented above. */
export const databaseDefaults = {
  poolSize: 10,
  statementTimeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  queueTimeoutMs: 60_000
} as const

/**
 * DATABASE_URL: a postgres:// (or postgresql://) URL. Checked here, so that a
 * value the driver cannot use fails start-up naming the variable; the message
 * never quotes the value, which holds the password.
 */
const isPostgresUrl = (text: string): boolean => {
  if (!URL.canParse(text)) return false
  return /^postgres(ql)?:$/.test(new URL(text).protocol)
}
const PostgresUrl = Schema.Redacted(
  Schema.String.check(
    Schema.makeFilter((text: string) =>
      isPostgresUrl(text) || "must be a PostgreSQL connection URL (scheme postgres or postgresql)"
    )
  )
)

const positiveInt = (name: string, fallback: number) =>
  Config.schema(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)), name).pipe(Config.withDefault(fallback))

/** The settings as an effect `Config` (a missing DATABASE_URL fails with a ConfigError naming it). */
export const databaseConfig: Config.Config<DatabaseSettings> = Config.all({
  url: Config.schema(PostgresUrl, "DATABASE_URL"),
  poolSize: positiveInt("CONTROL_PLANE_POOL_SIZE", databaseDefaults.poolSize),
  statementTimeoutMs: positiveInt("CONTROL_PLANE_STATEMENT_TIMEOUT_MS", databaseDefaults.statementTimeoutMs),
  connectTimeoutMs: positiveInt("CONTROL_PLANE_CONNECT_TIMEOUT_MS", databaseDefaults.connectTimeoutMs),
  queueTimeoutMs: positiveInt("CONTROL_PLANE_QUEUE_TIMEOUT_MS", databaseDefaults.queueTimeoutMs)
})

/** A database setting is missing or malformed; the message names the variable, never its value. */
export class DatabaseConfigError extends Schema.TaggedError<DatabaseConfigError>()("DatabaseConfigError", {
  variable: Schema.String,
  message: Schema.String
}) {}

const standardIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** The issue as one line: Schema's `  at [...]` continuation lines are dropped (the variable is named already). */
const firstIssueLine = (message: string): string => message.split("\n")[0]!.trim()

/**
 * "DATABASE_URL is not set: ..." or "CONTROL_PLANE_POOL_SIZE is invalid: ...",
 * from the ConfigError of reading `databaseConfig`. Whether the variable is
 * set is asked of the same ConfigProvider, since a missing key and a bad
 * value both surface as a schema issue.
 */
const describeConfigError = (error: Config.ConfigError): Effect.Effect<DatabaseConfigError> =>
  Effect.gen(function*() {
    const issue = Schema.isSchemaError(error.cause) ? standardIssues(error.cause.issue).issues[0] : undefined
    const variable = issue?.path?.map(String).join("_") || "DATABASE_URL"
    const value = yield* Config.option(Config.String(variable)).pipe(Effect.orElseSucceed(() => Option.none<string>()))
    if (Option.isNone(value) || value.value.trim() === "") {
      const hint = variable === "DATABASE_URL" ? ": set it to the connection string of the control-plane database" : ""
      return new DatabaseConfigError({ variable, message: `${variable} is not set${hint}` })
    }
    return new DatabaseConfigError({
      variable,
      message: `${variable} is invalid: ${issue === undefined ? "it could not be read" : firstIssueLine(issue.message)}`
    })
  })

export class DatabaseConfig extends Context.Service<DatabaseConfig, DatabaseSettings>()(
  "control-plane/DatabaseConfig"
) {
  /** Reads the settings from the current ConfigProvider (the environment by default). */
  static readonly layer = Layer.effect(
    DatabaseConfig,
    databaseConfig.pipe(
      Effect.catchTag("ConfigError", (error) => Effect.flatMap(describeConfigError(error), Effect.fail))
    )
  )

  /** Fixed settings: the URL plus any overrides of the defaults (tests, scripts). */
  static readonly layerWith = (settings: Pick<DatabaseSettings, "url"> & Partial<DatabaseSettings>) =>
    Layer.succeed(DatabaseConfig, { ...databaseDefaults, ...settings })
}
