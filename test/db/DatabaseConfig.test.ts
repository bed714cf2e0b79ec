/**
 * DatabaseConfig read from a ConfigProvider: defaults, overrides, a missing or
 * malformed variable failing with a DatabaseConfigError, one sentence that names it, and the URL
 * held as Redacted.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Redacted } from "effect"
import { DatabaseConfig, databaseDefaults } from "../../src/db/DatabaseConfig.ts"

const url = "postgres://control:pa55word@db.internal:5432/control_plane"

const readWith = (env: Record<string, string>) =>
  DatabaseConfig.useSync((settings) => settings).pipe(
    Effect.provide(DatabaseConfig.layer),
    Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))
  )

describe("DatabaseConfig", () => {
  it.effect("needs only DATABASE_URL; the rest has defaults", () =>
    Effect.gen(function*() {
      const settings = yield* readWith({ DATABASE_URL: url })
      assert.strictEqual(Redacted.value(settings.url), url)
      assert.strictEqual(settings.poolSize, 10)
      assert.strictEqual(settings.statementTimeoutMs, 30_000)
      assert.strictEqual(settings.connectTimeoutMs, 10_000)
      assert.strictEqual(settings.queueTimeoutMs, 60_000)
      assert.deepStrictEqual(databaseDefaults, { poolSize: 10, statementTimeoutMs: 30_000, connectTimeoutMs: 10_000, queueTimeoutMs: 60_000 })
    }))

  it.effect("reads every override", () =>
    Effect.gen(function*() {
      const settings = yield* readWith({
        DATABASE_URL: url,
        CONTROL_PLANE_POOL_SIZE: "3",
        CONTROL_PLANE_STATEMENT_TIMEOUT_MS: "500",
        CONTROL_PLANE_CONNECT_TIMEOUT_MS: "250",
        CONTROL_PLANE_QUEUE_TIMEOUT_MS: "1000"
      })
      assert.deepStrictEqual(
        [settings.poolSize, settings.statementTimeoutMs, settings.connectTimeoutMs, settings.queueTimeoutMs],
        [3, 500, 250, 1000]
      )
    }))

  it.effect("never shows the URL", () =>
    Effect.gen(function*() {
      const settings = yield* readWith({ DATABASE_URL: url })
      for (const shown of [String(settings.url), JSON.stringify(settings), `${settings.url}`]) {
        assert.notInclude(shown, "pa55word")
        assert.notInclude(shown, "db.internal")
      }
    }))

  it.effect("a missing DATABASE_URL is a DatabaseConfigError saying so in one sentence", () =>
    Effect.gen(function*() {
      for (const env of [{}, { DATABASE_URL: "  " }]) {
        const error = yield* Effect.flip(readWith(env))
        assert.strictEqual(error._tag, "DatabaseConfigError")
        assert.strictEqual(error.message, "DATABASE_URL is not set: set it to the connection string of the control-plane database")
      }
    }))

  it.effect("a DATABASE_URL that is not a PostgreSQL URL is a DatabaseConfigError naming it, never quoting it", () =>
    Effect.gen(function*() {
      for (const value of ["notaurl", "mysql://control:pa55word@db.internal/control_plane", "postgres://control:pa55word@[::1"]) {
        const error = yield* Effect.flip(readWith({ DATABASE_URL: value }))
        assert.include(error.message, "DATABASE_URL")
        assert.include(error.message, "must be a PostgreSQL connection URL")
        assert.isFalse(error.message.includes(value), "the message quotes the value")
        assert.isFalse(error.message.includes("pa55word"), "the message quotes the password")
      }
    }))

  it.effect("a pool size or timeout that is not a positive integer is a ConfigError naming it", () =>
    Effect.gen(function*() {
      for (const [name, value] of [
        ["CONTROL_PLANE_POOL_SIZE", "0"],
        ["CONTROL_PLANE_POOL_SIZE", "ten"],
        ["CONTROL_PLANE_STATEMENT_TIMEOUT_MS", "-1"],
        ["CONTROL_PLANE_QUEUE_TIMEOUT_MS", "1.5"]
      ] as const) {
        const error = yield* Effect.flip(readWith({ DATABASE_URL: url, [name]: value }))
        assert.match(error.message, new RegExp(`^${name} is invalid: [^\n]+$`))
        assert.notInclude(error.message, "pa55word")
      }
    }))
})
