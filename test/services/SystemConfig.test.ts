/**
 * The SystemConfig service against the real PostgreSQL: typed get/set through
 * the caller's Schema, delete, list, and every error it declares. Each test
 * uses keys of its own, since tests may run concurrently.
 */
import { assert, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { Db, sql } from "../../src/db/Db.ts"
import { ConfigEntry } from "../../src/domain/SystemConfig.ts"
import { SystemConfig } from "../../src/services/SystemConfig.ts"
import { assertEachFailsWithConnectionError, testActor, testDbLayer, unreachableDbLayer } from "../db/testDb.ts"

const uniqueKey = (label: string) => `test.${label}.${crypto.randomUUID()}`

const MaintenanceWindow = Schema.Struct({
  weekday: Schema.Literals(["sat", "sun"]),
  startsAt: Schema.Date,
  hours: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 8 }))
})

const storedJson = (key: string) =>
  Db.use((db) => db.query<{ value: unknown }>(sql`SELECT value FROM control_plane.system_config WHERE key = ${key}`)).pipe(
    Effect.map((rows) => rows[0])
  )

const TestLayer = SystemConfig.layerNoDeps.pipe(Layer.provideMerge(testDbLayer("system_config")), Layer.merge(testActor()))

it.layer(TestLayer, { timeout: "120 seconds" })("SystemConfig", (it) => {
  it.effect("set stores the Schema's JSON form and get decodes it back", () =>
    Effect.gen(function*() {
      const config = yield* SystemConfig
      const key = uniqueKey("window")
      const window = { weekday: "sun" as const, startsAt: new Date("2026-12-06T02:00:00.000Z"), hours: 3 }
      const entry = yield* config.set(key, MaintenanceWindow, window)
      assert.isTrue(Schema.is(ConfigEntry)(entry))
      assert.strictEqual(entry.key, key)
      assert.deepStrictEqual(entry.value, { weekday: "sun", startsAt: "2026-12-06T02:00:00.000Z", hours: 3 })
      assert.deepStrictEqual((yield* storedJson(key))?.value, { weekday: "sun", startsAt: "2026-12-06T02:00:00.000Z", hours: 3 })
      assert.deepStrictEqual(yield* config.get(key, MaintenanceWindow), window)
    }))

  it.effect("stores any JSON: arrays, strings, numbers, booleans, null", () =>
    Effect.gen(function*() {
      const config = yield* SystemConfig
      const cases = [
        [Schema.Array(Schema.String), ["eu-west-1", "us-east-1"]],
        [Schema.String, "read-only"],
        [Schema.Number, 42.5],
        [Schema.Boolean, false],
        [Schema.Null, null],
        [Schema.Json, { nested: [1, { deep: true }] }]
      ] as const
      for (const [schema, value] of cases) {
        const key = uniqueKey("json")
        yield* config.set(key, schema as Schema.Codec<unknown, unknown>, value)
        assert.deepStrictEqual((yield* storedJson(key))?.value, value)
        assert.deepStrictEqual(yield* config.get(key, schema as Schema.Codec<unknown, unknown>), value)
      }
    }))

  it.effect("set replaces an existing value and sets updated_at", () =>
    Effect.gen(function*() {
      const config = yield* SystemConfig
      const key = uniqueKey("replace")
      const first = yield* config.set(key, Schema.Number, 1)
      const second = yield* config.set(key, Schema.Number, 2)
      assert.strictEqual(yield* config.get(key, Schema.Number), 2)
      assert.isTrue(second.updatedAt >= first.updatedAt)
      const db = yield* Db
      const rows = yield* db.query<{ n: bigint }>(sql`SELECT count(*) AS n FROM control_plane.system_config WHERE key = ${key}`)
      assert.strictEqual(Number(rows[0]?.n), 1)
    }))

  it.effect("set sets updated_at itself, even where the trigger is missing", () =>
    Effect.gen(function*() {
      const config = yield* SystemConfig
      const db = yield* Db
      const key = uniqueKey("no-trigger")
      yield* config.set(key, Schema.Number, 1)
      // Inside a transaction that is rolled back, so the trigger is only gone for this test.
      const outcome = yield* Effect.flip(
        db.transaction(
          Effect.gen(function*() {
            yield* db.query(sql`DROP TRIGGER update_system_config_updated_at ON control_plane.system_config`)
            const before = yield* db.query<{ at: string }>(sql`SELECT updated_at::text AS at FROM control_plane.system_config WHERE key = ${key}`)
            yield* config.set(key, Schema.Number, 2)
            const after = yield* db.query<{ bumped: boolean }>(
              sql`SELECT updated_at > ${before[0]?.at}::timestamptz AS bumped FROM control_plane.system_config WHERE key = ${key}`
            )
            return yield* Effect.fail({ bumped: after[0]?.bumped })
          })
        )
      )
      assert.deepStrictEqual(outcome, { bumped: true })
      assert.strictEqual(yield* config.get(key, Schema.Number), 1)
    }))

  it.effect("a stored value of the wrong shape is ConfigValueInvalid, not a crash", () =>
    Effect.gen(function*() {
      const config = yield* SystemConfig
      const db = yield* Db
      const key = uniqueKey("wrong-shape")
      yield* config.set(key, Schema.Number, 7)
      const asString = yield* Effect.flip(config.get(key, Schema.String))
      assert.strictEqual(asString._tag, "ConfigValueInvalid")
      assert.strictEqual(asString.message, `The configuration value of ${JSON.stringify(key)} is invalid: Expected string`)
      const handWritten = uniqueKey("hand-written")
      yield* db.query(sql`INSERT INTO control_plane.system_config (key, value) VALUES (${handWritten}, '{"weekday":"mon","hours":12}'::jsonb)`)
      const error = yield* Effect.flip(config.get(handWritten, MaintenanceWindow))
      assert.strictEqual(error._tag, "ConfigValueInvalid")
      if (error._tag === "ConfigValueInvalid") {
        assert.strictEqual(error.key, handWritten)
        assert.include(error.issue, `["weekday"]`)
        assert.include(error.issue, `["startsAt"]`)
        assert.include(error.issue, `["hours"]`)
      }
    }))

  it.effect("a missing key is ConfigKeyNotFound", () =>
    Effect.gen(function*() {
      const config = yield* SystemConfig
      const key = uniqueKey("missing")
      const error = yield* Effect.flip(config.get(key, Schema.String))
      assert.strictEqual(error._tag, "ConfigKeyNotFound")
      assert.strictEqual(error.message, `No configuration entry has the key ${JSON.stringify(key)}`)
    }))

  it.effect("a value the Schema refuses is InvalidInput and nothing is written", () =>
    Effect.gen(function*() {
      const config = yield* SystemConfig
      const key = uniqueKey("refused")
      const error = yield* Effect.flip(
        config.set(key, MaintenanceWindow, { weekday: "sun", startsAt: new Date(), hours: 24 })
      )
      assert.strictEqual(error._tag, "InvalidInput")
      assert.include(error.message, `Invalid value for ${JSON.stringify(key)}`)
      assert.include(error.message, "Expected a value between 1 and 8")
      assert.isUndefined(yield* storedJson(key))
    }))

  it.effect("a value jsonb cannot store (NUL, a lone surrogate, in a string or a key) is InvalidInput, nothing written", () =>
    Effect.gen(function*() {
      const config = yield* SystemConfig
      const key = uniqueKey("jsonb")
      for (const value of ["a\u0000b", "\ud800", { "\udc00": 1 }, ["ok", { deep: "x\u0000" }]]) {
        const error = yield* Effect.flip(config.set(key, Schema.Json, value as Schema.Json))
        assert.strictEqual(error._tag, "InvalidInput")
        assert.match(error.message, /must not contain NUL or lone surrogates/)
      }
      assert.isUndefined(yield* storedJson(key))
      yield* config.set(key, Schema.Json, { "😀": "paired surrogates are fine" })
    }))

  it.effect("a malformed key is InvalidInput for every operation", () =>
    Effect.gen(function*() {
      const config = yield* SystemConfig
      for (const [key, expected] of [
        ["", "must not be empty"],
        ["k".repeat(256), "must be at most 255 characters"],
        [" padded", "must not start or end with whitespace"],
        ["tab\there", "must not contain control characters"]
      ] as const) {
        for (const operation of [config.get(key, Schema.String), config.set(key, Schema.String, "v"), config.delete(key)]) {
          const error = yield* Effect.flip(operation)
          assert.strictEqual(error._tag, "InvalidInput")
          assert.include(error.message, `Invalid configuration key: ${expected}`)
        }
      }
    }))

  it.effect("delete removes the entry; deleting a missing key is ConfigKeyNotFound", () =>
    Effect.gen(function*() {
      const config = yield* SystemConfig
      const key = uniqueKey("delete")
      yield* config.set(key, Schema.String, "bye")
      yield* config.delete(key)
      assert.strictEqual((yield* Effect.flip(config.get(key, Schema.String)))._tag, "ConfigKeyNotFound")
      assert.strictEqual((yield* Effect.flip(config.delete(key)))._tag, "ConfigKeyNotFound")
    }))

  it.effect("list gives every entry by key, values as raw JSON", () =>
    Effect.gen(function*() {
      const config = yield* SystemConfig
      const prefix = uniqueKey("list")
      yield* config.set(`${prefix}.b`, Schema.Date, new Date("2026-01-01T00:00:00.000Z"))
      yield* config.set(`${prefix}.a`, Schema.Array(Schema.Number), [1, 2])
      const entries = yield* config.list()
      const keys = entries.map((entry) => entry.key)
      assert.deepStrictEqual([...keys].sort(), keys)
      const mine = entries.filter((entry) => entry.key.startsWith(prefix))
      assert.deepStrictEqual(
        mine.map((entry) => [entry.key, entry.value]),
        [[`${prefix}.a`, [1, 2]], [`${prefix}.b`, "2026-01-01T00:00:00.000Z"]]
      )
      assert.isTrue(mine.every((entry) => Schema.is(ConfigEntry)(entry)))
    }))
})

// Every operation surfaces database trouble as DbError.
const Unreachable = SystemConfig.layerNoDeps.pipe(Layer.provide(unreachableDbLayer), Layer.merge(testActor()))

it.layer(Unreachable)("SystemConfig without a database", (it) => {
  it.effect("every operation fails with DbError(ConnectionError)", () =>
    Effect.gen(function*() {
      const config = yield* SystemConfig
      const key = uniqueKey("down")
      yield* assertEachFailsWithConnectionError([
        config.get(key, Schema.String),
        config.set(key, Schema.String, "v"),
        config.delete(key),
        config.list()
      ])
    }))
})
