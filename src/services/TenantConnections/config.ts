/**
 * How TenantConnections sizes and times its pools, read once from the
 * environment (or any effect ConfigProvider):
 *
 *   CONTROL_PLANE_TENANT_POOL_MAX         connections one tenant database's pool may hold (default 5)
 *   CONTROL_PLANE_CONNECTION_BUDGET       connections all tenant pools together may hold (default 50)
 *   CONTROL_PLANE_CHECKOUT_TIMEOUT_MS     how long withTenant waits for a connection under the budget (default 5000)
 *   CONTROL_PLANE_TENANT_POOL_IDLE_MS     a pool nobody used for this long is closed (default 60000)
 *   CONTROL_PLANE_RESOLVE_TTL_MS          the longest a cached resolution is served, the safety net
 *                                         behind push invalidation (default 60000)
 *   CONTROL_PLANE_LISTENER_PING_MS        how often the invalidation listener checks its connection still
 *                                         delivers notifications (default 10000)
 *   CONTROL_PLANE_LISTENER_URL            optional: a direct connection to the control-plane database for
 *                                         the listener (Redacted), when DATABASE_URL goes through PgBouncer in
 *                                         transaction mode; default DATABASE_URL
 *
 * A value that is not a whole number, or a whole number below 1, is a
 * TenantConnectionsConfigError: one sentence naming the variable (and, for a
 * number below 1, what it is for), never a value that could be a secret.
 */
import { Config, Context, Effect, Layer, Option, Schema, SchemaIssue } from "effect"
import type { Redacted } from "effect"

export interface TenantConnectionsSettings {
  readonly poolMax: number
  readonly budget: number
  readonly checkoutTimeoutMs: number
  readonly poolIdleMs: number
  readonly resolveTtlMs: number
  readonly listenerPingMs: number
  /** The listener's own connection string; undefined: DATABASE_URL. */
  readonly listenerUrl: Redacted.Redacted<string> | undefined
}

type Limits = Omit<TenantConnectionsSettings, "listenerUrl">

/** The defaults, as documented above. */
export const tenantConnectionsDefaults: TenantConnectionsSettings = {
  poolMax: 5,
  budget: 50,
  checkoutTimeoutMs: 5_000,
  poolIdleMs: 60_000,
  resolveTtlMs: 60_000,
  listenerPingMs: 10_000,
  listenerUrl: undefined
}

/** Each setting's variable and what it is for (the error says both). */
const variables: Record<keyof Limits, readonly [name: string, purpose: string]> = {
  poolMax: ["CONTROL_PLANE_TENANT_POOL_MAX", "the most connections one tenant database's pool may hold"],
  budget: ["CONTROL_PLANE_CONNECTION_BUDGET", "the most connections all tenant pools may hold together"],
  checkoutTimeoutMs: ["CONTROL_PLANE_CHECKOUT_TIMEOUT_MS", "how long a caller waits for a connection"],
  poolIdleMs: ["CONTROL_PLANE_TENANT_POOL_IDLE_MS", "how long an unused pool stays open"],
  resolveTtlMs: ["CONTROL_PLANE_RESOLVE_TTL_MS", "how long a cached tenant resolution may be served"],
  listenerPingMs: ["CONTROL_PLANE_LISTENER_PING_MS", "how often the invalidation listener checks its connection"]
}

/** A TenantConnections setting below 1; `message` names the variable. */
export class TenantConnectionsConfigError extends Schema.TaggedError<TenantConnectionsConfigError>()(
  "TenantConnectionsConfigError",
  { variable: Schema.String, message: Schema.String }
) {}

/** Checks every setting is at least 1, naming the first that is not. */
export const validateSettings = (
  settings: TenantConnectionsSettings
): Effect.Effect<TenantConnectionsSettings, TenantConnectionsConfigError> => {
  for (const key of Object.keys(variables) as Array<keyof Limits>) {
    const value = settings[key]
    if (!Number.isInteger(value) || value < 1) {
      const [variable, purpose] = variables[key]
      return Effect.fail(
        new TenantConnectionsConfigError({
          variable,
          message: `${variable} must be a whole number of at least 1, not ${value}: it is ${purpose}`
        })
      )
    }
  }
  return Effect.succeed(settings)
}

const setting = (key: keyof Limits) =>
  Config.Int(variables[key][0]).pipe(Config.withDefault(tenantConnectionsDefaults[key]))

/** The settings as an effect Config (whole numbers; the range is checked by validateSettings). */
export const tenantConnectionsConfig: Config.Config<TenantConnectionsSettings> = Config.all({
  poolMax: setting("poolMax"),
  budget: setting("budget"),
  checkoutTimeoutMs: setting("checkoutTimeoutMs"),
  poolIdleMs: setting("poolIdleMs"),
  resolveTtlMs: setting("resolveTtlMs"),
  listenerPingMs: setting("listenerPingMs"),
  listenerUrl: Config.option(Config.Redacted("CONTROL_PLANE_LISTENER_URL")).pipe(Config.map(Option.getOrUndefined))
})

const standardIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** A setting that could not be read (not a whole number, say): "<VARIABLE> is invalid: <what was expected>". */
const describeConfigError = (error: Config.ConfigError): TenantConnectionsConfigError => {
  const issue = Schema.isSchemaError(error.cause) ? standardIssues(error.cause.issue).issues[0] : undefined
  const variable = issue?.path?.map(String).join("_") || "a TenantConnections setting"
  const expected = issue === undefined ? "it could not be read" : issue.message.split("\n")[0]!.trim()
  return new TenantConnectionsConfigError({ variable, message: `${variable} is invalid: ${expected}` })
}

export class TenantConnectionsConfig extends Context.Service<TenantConnectionsConfig, TenantConnectionsSettings>()(
  "control-plane/TenantConnectionsConfig"
) {
  /** Reads and checks the settings from the current ConfigProvider (the environment by default). */
  static readonly layer = Layer.effect(
    TenantConnectionsConfig,
    tenantConnectionsConfig.pipe(
      Effect.mapError(describeConfigError),
      Effect.flatMap(validateSettings)
    )
  )

  /** Fixed settings: overrides of the defaults (tests, benchmarks), checked the same way. */
  static readonly layerWith = (settings: Partial<TenantConnectionsSettings>) =>
    Layer.effect(TenantConnectionsConfig, validateSettings({ ...tenantConnectionsDefaults, ...settings }))
}
