/**
 * System configuration: keys, entries and the errors about them. Values are
 * any JSON; each caller reads and writes a key with a Schema of its own.
 */
import { Schema } from "effect"
import { BoundedText } from "./text.ts"

/** The most characters a key may have (the column is varchar(255)). */
export const configKeyMaxLength = 255

/**
 * A configuration key: 1 to 255 characters, no surrounding whitespace, no
 * control characters (the same text rules as tenant names), e.g.
 * `billing.plan`, `maintenance_window`.
 */
export const ConfigKey = BoundedText(configKeyMaxLength)
export type ConfigKey = typeof ConfigKey.Type

/** A stored entry, its value as raw JSON. */
export const ConfigEntry = Schema.Struct({
  key: Schema.String,
  value: Schema.Json,
  updatedAt: Schema.Date
})
export type ConfigEntry = typeof ConfigEntry.Type

/** No entry has this key. */
export class ConfigKeyNotFound extends Schema.TaggedError<ConfigKeyNotFound>()("ConfigKeyNotFound", {
  key: Schema.String
}) {
  override get message(): string {
    return `No configuration entry has the key ${JSON.stringify(this.key)}`
  }
}

/**
 * The stored value does not have the shape the caller's Schema expects (or,
 * when writing, the value could not be encoded to JSON). `issue` says what
 * is wrong and where.
 */
export class ConfigValueInvalid extends Schema.TaggedError<ConfigValueInvalid>()("ConfigValueInvalid", {
  key: Schema.String,
  issue: Schema.String
}) {
  override get message(): string {
    return `The configuration value of ${JSON.stringify(this.key)} is invalid: ${this.issue}`
  }
}
