/**
 * A ConnectionStringCrypto over a fresh random key, for tests that register
 * tenant databases in-process without going through configuration.
 */
import * as nodeCrypto from "node:crypto"
import { Layer, Redacted, Result } from "effect"
import { ConnectionStringCrypto } from "../../src/crypto/ConnectionStringCrypto.ts"
import { KeyRing } from "../../src/crypto/KeyRing.ts"

export const randomKeyRing = (id = "test-1"): KeyRing =>
  Result.getOrThrow(KeyRing.make([{ id: id as never, material: Redacted.make(new Uint8Array(nodeCrypto.randomBytes(32))) }], id))

/** ConnectionStringCrypto with one random key, made primary. */
export const testCryptoLayer = (ring: KeyRing = randomKeyRing()) =>
  Layer.succeed(ConnectionStringCrypto, ConnectionStringCrypto.fromKeyRing(ring))
