/**
 * The SystemConfig service: typed access to control_plane.system_config.
 *
 * Each caller reads and writes a key with a Schema of its own. Values are
 * stored as jsonb in the Schema's canonical JSON form (Schema.toCodecJson:
 * a Date becomes an ISO string, a bigint a string, and so on), so a value
 * written with a Schema reads back with it. A stored value that does not fit
 * the reader's Schema is a ConfigValueInvalid, never a crash.
 *
 * `set` and `delete` require an Actor, which the audit trigger records with
 * each change (the old and new values: keep secrets out of system_config).
 */
import { Context, Effect, Layer, Schema } from "effect"
import { Db, sql } from "../db/Db.ts"
import type SystemConfig_Row from "../db/generated/system_config.ts"
import { checkInput, InvalidInput } from "../domain/errors.ts"
import type { DbError } from "../domain/errors.ts"
import { ConfigKey, ConfigKeyNotFound, ConfigValueInvalid } from "../domain/SystemConfig.ts"
import type { ConfigEntry } from "../domain/SystemConfig.ts"
import { Actor, actorContext } from "./Actor.ts"

/** A Schema whose values can be stored: no services needed to decode or encode it. */
export type ConfigSchema<A> = Schema.Codec<A, unknown, never, never>

export interface SystemConfigService {
  /** The value of `key`, decoded with `schema`. */
  readonly get: <A>(
    key: string,
    schema: ConfigSchema<A>
  ) => Effect.Effect<A, ConfigKeyNotFound | ConfigValueInvalid | InvalidInput | DbError>
  /** Stores `value` under `key` (insert or replace), encoded with `schema`. A value the schema refuses is InvalidInput. */
  readonly set: <A>(key: string, schema: ConfigSchema<A>, value: A) => Effect.Effect<ConfigEntry, InvalidInput | DbError, Actor>
  /** Removes `key`. */
  readonly delete: (key: string) => Effect.Effect<void, ConfigKeyNotFound | InvalidInput | DbError, Actor>
  /** Every entry, by key, values as raw JSON. */
  readonly list: () => Effect.Effect<ReadonlyArray<ConfigEntry>, DbError>
}

const decodeKey = checkInput(ConfigKey, "configuration key")

// Deriving a JSON codec walks the whole schema: do it once per schema.
const jsonCodecs = new WeakMap<ConfigSchema<unknown>, Schema.Codec<unknown, Schema.Json>>()
const jsonCodecOf = <A>(schema: ConfigSchema<A>): Schema.Codec<A, Schema.Json> => {
  let codec = jsonCodecs.get(schema)
  if (codec === undefined) {
    codec = Schema.toCodecJson(schema) as Schema.Codec<unknown, Schema.Json>
    jsonCodecs.set(schema, codec)
  }
  return codec as Schema.Codec<A, Schema.Json>
}

/**
 * What PostgreSQL's jsonb cannot store, found before it refuses it: a NUL
 * character or a lone UTF-16 surrogate in any string or key. Undefined when
 * the value is storable.
 */
export const jsonbIssue = (value: unknown): string | undefined => {
  // With the u flag, \p{Cs} matches only surrogates that are not part of a pair.
  const badText = (text: string) => /\u0000|\p{Cs}/u.test(text)
  const visit = (node: unknown): boolean => {
    if (typeof node === "string") return badText(node)
    if (Array.isArray(node)) return node.some(visit)
    if (typeof node === "object" && node !== null) {
      return Object.entries(node).some(([key, child]) => badText(key) || visit(child))
    }
    return false
  }
  return visit(value) ? "strings must not contain NUL or lone surrogates (PostgreSQL's jsonb cannot store them)" : undefined
}

// jsonb comes back parsed by the driver (typed `unknown` by the generated
// row type): JSON by construction.
const toEntry = (row: SystemConfig_Row): ConfigEntry => ({
  key: row.key,
  value: row.value as Schema.Json,
  updatedAt: row.updated_at
})

export class SystemConfig extends Context.Service<SystemConfig, SystemConfigService>()("control-plane/SystemConfig") {
  static readonly layerNoDeps = Layer.effect(
    SystemConfig,
    Effect.gen(function*() {
      const db = yield* Db

      const get = Effect.fn("SystemConfig.get")(function*<A>(key: string, schema: ConfigSchema<A>) {
        const valid = yield* decodeKey(key)
        const rows = yield* db.query<Pick<SystemConfig_Row, "value">>(
          sql`SELECT value FROM control_plane.system_config WHERE key = ${valid}`
        )
        const row = rows[0]
        if (row === undefined) return yield* new ConfigKeyNotFound({ key: valid })
        return yield* Schema.decodeUnknownEffect(jsonCodecOf(schema))(row.value, { errors: "all" }).pipe(
          Effect.mapError((error) => new ConfigValueInvalid({ key: valid, issue: error.message }))
        )
      })

      const set = Effect.fn("SystemConfig.set")(function*<A>(key: string, schema: ConfigSchema<A>, value: A) {
        const valid = yield* decodeKey(key)
        const json = yield* Schema.encodeUnknownEffect(jsonCodecOf(schema))(value, { errors: "all" }).pipe(
          Effect.mapError((error) => new InvalidInput({ message: `Invalid value for ${JSON.stringify(valid)}: ${error.message}` }))
        )
        const issue = jsonbIssue(json)
        if (issue !== undefined) return yield* new InvalidInput({ message: `Invalid value for ${JSON.stringify(valid)}: ${issue}` })
        const actor = yield* Actor
        // @databases/pg would send a JS array as a PostgreSQL array: pass jsonb as JSON text.
        const rows = yield* db.query<SystemConfig_Row>(sql`
          INSERT INTO control_plane.system_config (key, value)
          SELECT ${valid}, ${JSON.stringify(json)}::jsonb FROM ${actorContext(actor)}
          ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
          RETURNING *`)
        const row = rows[0]
        return row === undefined ? yield* Effect.die("INSERT gave no row") : toEntry(row)
      })

      const remove = Effect.fn("SystemConfig.delete")(function*(key: string) {
        const valid = yield* decodeKey(key)
        const actor = yield* Actor
        const rows = yield* db.query(
          sql`DELETE FROM control_plane.system_config USING ${actorContext(actor)} WHERE key = ${valid} RETURNING key`
        )
        if (rows.length === 0) return yield* new ConfigKeyNotFound({ key: valid })
      })

      const list = Effect.fn("SystemConfig.list")(function*() {
        const rows = yield* db.query<SystemConfig_Row>(sql`SELECT * FROM control_plane.system_config ORDER BY key`)
        return rows.map(toEntry)
      })

      return SystemConfig.of({ get, set, delete: remove, list })
    })
  )

  /** SystemConfig on a Db configured from the environment. */
  static readonly layer = SystemConfig.layerNoDeps.pipe(Layer.provide(Db.layer))
}
