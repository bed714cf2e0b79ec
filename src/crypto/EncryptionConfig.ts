/**
 * The key ring from configuration (effect `Config`, the environment by default):
 *
 *   CONTROL_PLANE_ENCRYPTION_KEYS   comma-separated `<key id>:<base64 of 32 random bytes>`,
 *                                   e.g. `2026-01:q0...=,2026-06:Zx...=` (make a key with
 *                                   `openssl rand -base64 32`)
 *   CONTROL_PLANE_PRIMARY_KEY_ID    the id of the key that encrypts; the others only decrypt
 *
 * Anything missing or malformed fails start-up with one sentence naming the
 * variable and the key id (or the entry's position when the id itself is
 * unusable), never the key: errors end up in logs and terminals.
 */
import { Buffer } from "node:buffer"
import { Config, Effect, Layer, Option, Redacted, Result } from "effect"
import { type EncryptionKey, isKeyId, KEY_BYTES, KeyProvider, KeyRing, KeyRingError } from "./KeyRing.ts"

export const ENCRYPTION_KEYS_VAR = "CONTROL_PLANE_ENCRYPTION_KEYS"
export const PRIMARY_KEY_ID_VAR = "CONTROL_PLANE_PRIMARY_KEY_ID"

const KEY_ID_RULE = "ids are 1 to 32 letters, digits, '.', '_' or '-'"

const fail = (message: string): Result.Result<never, KeyRingError> => Result.fail(new KeyRingError({ message }))

/** Strict base64: only the canonical encoding round-trips, so stray characters are not silently dropped. */
const decodeBase64 = (text: string): Uint8Array | undefined => {
  const bytes = Buffer.from(text, "base64")
  return bytes.toString("base64") === text ? new Uint8Array(bytes) : undefined
}

/** One `<key id>:<base64>` entry; `position` is 1-based, for messages. */
const parseEntry = (entry: string, position: number): Result.Result<EncryptionKey, KeyRingError> => {
  const trimmed = entry.trim()
  if (trimmed === "") {
    return fail(`${ENCRYPTION_KEYS_VAR} entry ${position} is empty; expected <key id>:<base64 key>.`)
  }
  const separator = trimmed.indexOf(":")
  if (separator === -1) {
    return fail(`${ENCRYPTION_KEYS_VAR} entry ${position} has no key id; expected <key id>:<base64 key>.`)
  }
  const id = trimmed.slice(0, separator).trim()
  if (!isKeyId(id)) {
    return fail(`${ENCRYPTION_KEYS_VAR} entry ${position} has a malformed key id (${KEY_ID_RULE}).`)
  }
  const material = decodeBase64(trimmed.slice(separator + 1).trim())
  if (material === undefined) {
    return fail(`${ENCRYPTION_KEYS_VAR}: key "${id}" is not valid base64.`)
  }
  if (material.length !== KEY_BYTES) {
    return fail(
      `${ENCRYPTION_KEYS_VAR}: key "${id}" is ${material.length} bytes long, AES-256 needs exactly ${KEY_BYTES} ` +
        "(make one with `openssl rand -base64 32`)."
    )
  }
  return Result.succeed({ id, material: Redacted.make(material, { label: `encryption key ${id}` }) })
}

/**
 * Builds the ring from the two settings' text. Pure, so every rule is tested
 * without touching the environment.
 */
export const parseKeyRing = (
  keys: Redacted.Redacted<string>,
  primaryKeyId: string
): Result.Result<KeyRing, KeyRingError> => {
  const parsed: Array<EncryptionKey> = []
  for (const [index, entry] of Redacted.value(keys).split(",").entries()) {
    const key = parseEntry(entry, index + 1)
    if (Result.isFailure(key)) return Result.fail(key.failure)
    if (parsed.some((other) => other.id === key.success.id)) {
      return fail(`${ENCRYPTION_KEYS_VAR} lists key id "${key.success.id}" twice; every key needs an id of its own.`)
    }
    parsed.push(key.success)
  }
  const primary = primaryKeyId.trim()
  if (!isKeyId(primary)) {
    // Not echoed: a malformed id may be a key pasted into the wrong variable.
    return fail(`${PRIMARY_KEY_ID_VAR} is not a well-formed key id (${KEY_ID_RULE}).`)
  }
  if (!parsed.some((key) => key.id === primary)) {
    return fail(
      `${PRIMARY_KEY_ID_VAR} names key "${primary}", which ${ENCRYPTION_KEYS_VAR} does not list ` +
        `(it lists ${parsed.map((key) => `"${key.id}"`).join(", ")}).`
    )
  }
  return KeyRing.make(parsed, primary)
}

const settings = Config.all({
  keys: Config.option(Config.Redacted(ENCRYPTION_KEYS_VAR)),
  primaryKeyId: Config.option(Config.String(PRIMARY_KEY_ID_VAR))
})

/** Reads both settings from the current `ConfigProvider` and builds the ring. */
export const loadKeyRing: Effect.Effect<KeyRing, KeyRingError> = Effect.gen(function*() {
  const raw = yield* Effect.mapError(
    settings,
    // The config error itself is not passed on: its text may quote what was read.
    () => new KeyRingError({ message: `${ENCRYPTION_KEYS_VAR} and ${PRIMARY_KEY_ID_VAR} could not be read.` })
  )
  // An empty variable counts as unset.
  const keys = Option.filter(raw.keys, (text) => Redacted.value(text).trim() !== "")
  const primaryKeyId = Option.filter(raw.primaryKeyId, (id) => id.trim() !== "")
  if (Option.isNone(keys)) {
    return yield* new KeyRingError({
      message: `${ENCRYPTION_KEYS_VAR} is not set; expected comma-separated <key id>:<base64 of 32 random bytes>.`
    })
  }
  if (Option.isNone(primaryKeyId)) {
    return yield* new KeyRingError({
      message: `${PRIMARY_KEY_ID_VAR} is not set; it names the key of ${ENCRYPTION_KEYS_VAR} that encrypts.`
    })
  }
  return yield* Effect.fromResult(parseKeyRing(keys.value, primaryKeyId.value))
})

/** The configuration-backed `KeyProvider`. */
export const layer: Layer.Layer<KeyProvider> = Layer.succeed(KeyProvider, KeyProvider.of({ keyRing: loadKeyRing }))
