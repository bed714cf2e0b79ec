/**
 * The encryption key ring: 256-bit keys, each with an id, exactly one of them
 * primary. The primary key encrypts; every listed key decrypts, which is what
 * lets keys rotate without downtime (add a key, make it primary, re-encrypt,
 * then retire the old one).
 *
 * Key material is held as `Redacted`, so a ring or key that ends up in a log
 * line prints `<redacted>`. Where the keys come from is a `KeyProvider`: today
 * configuration (see EncryptionConfig.ts); a KMS-backed provider that unwraps
 * data keys at start-up would implement the same interface.
 */
import { Context, Effect, Redacted, Result, Schema } from "effect"

/** Length of an AES-256 key, in bytes. */
export const KEY_BYTES = 32

/**
 * A key id: 1 to 32 letters, digits, `.`, `_` or `-`.
 *
 * The id is written into every envelope (`v1:<keyId>:...`), so it may not hold
 * the `:` separator (nor the `,` of the configuration list). The length cap is
 * there for safety: the base64 of a 32-byte key has 44 characters, so a key
 * pasted where an id belongs can never pass as an id and be echoed in an error.
 */
export const KeyId = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9._-]{1,32}$/)).pipe(
  Schema.brand("control-plane/KeyId")
)
export type KeyId = typeof KeyId.Type

/** True when `text` is a well-formed key id (and so safe to print). */
export const isKeyId = Schema.is(KeyId)

/** One key of the ring; `material` is the raw 32 bytes, redacted. */
export interface EncryptionKey {
  readonly id: KeyId
  readonly material: Redacted.Redacted<Uint8Array>
}

/**
 * The key ring could not be built: a missing, malformed or duplicate key, or
 * an unknown primary id. The message is one sentence that names the key id
 * (or the entry's position) and never the key.
 */
export class KeyRingError extends Schema.TaggedError<KeyRingError>()("KeyRingError", {
  message: Schema.String
}) {}

/** A validated set of keys with one primary. Build it with `KeyRing.make`. */
export class KeyRing {
  readonly primary: EncryptionKey
  readonly #byId: ReadonlyMap<KeyId, EncryptionKey>

  private constructor(primary: EncryptionKey, byId: ReadonlyMap<KeyId, EncryptionKey>) {
    this.primary = primary
    this.#byId = byId
  }

  /**
   * Checks the keys (each 32 bytes, ids unique) and that the primary id is
   * among them. Errors name the key id, never the key.
   */
  static make(keys: Iterable<EncryptionKey>, primaryKeyId: string): Result.Result<KeyRing, KeyRingError> {
    const byId = new Map<KeyId, EncryptionKey>()
    for (const key of keys) {
      if (!isKeyId(key.id)) {
        return Result.fail(new KeyRingError({ message: "A key id is malformed: ids are 1 to 32 letters, digits, '.', '_' or '-'." }))
      }
      if (byId.has(key.id)) {
        return Result.fail(new KeyRingError({ message: `Key id "${key.id}" is listed twice; every key needs an id of its own.` }))
      }
      if (Redacted.value(key.material).length !== KEY_BYTES) {
        return Result.fail(new KeyRingError({ message: `Key "${key.id}" is not ${KEY_BYTES} bytes long.` }))
      }
      byId.set(key.id, key)
    }
    if (byId.size === 0) {
      return Result.fail(new KeyRingError({ message: "The key ring holds no keys; at least the primary key is needed." }))
    }
    if (!isKeyId(primaryKeyId)) {
      return Result.fail(new KeyRingError({
        message: "The primary key id is malformed: ids are 1 to 32 letters, digits, '.', '_' or '-'."
      }))
    }
    const primary = byId.get(primaryKeyId)
    if (primary === undefined) {
      return Result.fail(new KeyRingError({
        message: `The primary key id "${primaryKeyId}" is not among the listed keys (${[...byId.keys()].join(", ")}).`
      }))
    }
    return Result.succeed(new KeyRing(primary, byId))
  }

  /** Every key, the primary included, in the order they were listed. */
  get keys(): ReadonlyArray<EncryptionKey> {
    return [...this.#byId.values()]
  }

  /** The key with this id, if the ring holds it. */
  get(id: string): EncryptionKey | undefined {
    return this.#byId.get(id as KeyId)
  }

  /** Prints ids only. */
  toString(): string {
    return `KeyRing(primary=${this.primary.id}, keys=${[...this.#byId.keys()].join(",")})`
  }

  toJSON(): unknown {
    return { primary: this.primary.id, keys: [...this.#byId.keys()] }
  }
}

/**
 * Where the key ring comes from. The configuration provider
 * (`EncryptionConfig.layer`) reads it from the environment; a KMS-backed
 * provider would fetch and unwrap data keys here instead, and nothing that
 * uses the ring would change.
 */
export class KeyProvider extends Context.Service<KeyProvider, {
  /** Loads the ring; called once when the crypto service starts. */
  readonly keyRing: Effect.Effect<KeyRing, KeyRingError>
}>()("control-plane/KeyProvider") {}
