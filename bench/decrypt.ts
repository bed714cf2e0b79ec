/**
 * What decrypting a connection string through ConnectionStringCrypto costs
 * over bare node:crypto: `node bench/decrypt.ts` (exit code 1 when the goal,
 * service <= 1.25x the bare time, is missed).
 *
 * Both sides decrypt the same envelope text with the same key and associated
 * data. The service side runs `yield* crypto.decrypt(...)` inside one Effect
 * program, as a caller does, and gets a Redacted<string>. The bare side is the
 * fastest plain form: the key imported once as a KeyObject, the associated
 * data built once, the base64 payload decoded and AES-256-GCM run by hand.
 * After a warm-up the variants alternate in rounds (so drift in CPU speed hits
 * all alike) and each one's best round counts.
 *
 * Two reference lines show where the time goes: bare plus `Redacted.make`
 * (the floor any Redacted-returning API pays) and bare with the raw key bytes
 * passed on every call, as most hand-written code does.
 */
import { Buffer } from "node:buffer"
import * as nodeCrypto from "node:crypto"
import { Effect, Redacted, Result } from "effect"
import { associatedData, ConnectionStringCrypto, NONCE_BYTES, TAG_BYTES } from "../src/crypto/ConnectionStringCrypto.ts"
import { type KeyId, KeyRing } from "../src/crypto/KeyRing.ts"

const GOAL = 1.25
const WARM_UP_ROUNDS = 3
const ROUNDS = 12
const OPS_PER_ROUND = 20_000

const keyBytes = nodeCrypto.randomBytes(32)
const ring = Result.getOrThrow(KeyRing.make([{ id: "bench" as KeyId, material: Redacted.make(new Uint8Array(keyBytes)) }], "bench"))
const crypto = ConnectionStringCrypto.fromKeyRing(ring)
const row = { tenantId: nodeCrypto.randomUUID(), databaseId: nodeCrypto.randomUUID() }
const connectionString = "postgres://tenant_acme:Zq8vT3kWm1pXr6Yb@db-eu-17.internal.example.net:5432/tenant_acme?sslmode=require"
const envelope = Effect.runSync(crypto.encrypt(Redacted.make(connectionString), row))

const keyObject = nodeCrypto.createSecretKey(keyBytes)
const aad = associatedData("bench", row)
const encoded = envelope.slice(envelope.lastIndexOf(":") + 1)

const bareDecrypt = (key: nodeCrypto.KeyObject | Buffer): string => {
  const payload = Buffer.from(encoded, "base64")
  const decipher = nodeCrypto.createDecipheriv("aes-256-gcm", key, payload.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES })
  decipher.setAAD(aad)
  decipher.setAuthTag(payload.subarray(payload.length - TAG_BYTES))
  const ciphertext = payload.subarray(NONCE_BYTES, payload.length - TAG_BYTES)
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8")
}

type Round = (ops: number) => number
const variants = {
  service: (ops) =>
    Effect.runSync(Effect.gen(function*() {
      let length = 0
      for (let i = 0; i < ops; i++) length += Redacted.value(yield* crypto.decrypt(envelope, row)).length
      return length
    })),
  bare: (ops) => {
    let length = 0
    for (let i = 0; i < ops; i++) length += bareDecrypt(keyObject).length
    return length
  },
  bareRedacted: (ops) => {
    let length = 0
    for (let i = 0; i < ops; i++) length += Redacted.value(Redacted.make(bareDecrypt(keyObject))).length
    return length
  },
  bareRawKey: (ops) => {
    let length = 0
    for (let i = 0; i < ops; i++) length += bareDecrypt(keyBytes).length
    return length
  }
} satisfies Record<string, Round>

const expected = OPS_PER_ROUND * connectionString.length
/** Operations per second of one timed round (checking every side decrypted the right text). */
const time = (round: Round): number => {
  const start = process.hrtime.bigint()
  const length = round(OPS_PER_ROUND)
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  if (length !== expected) throw new Error("a variant decrypted something else")
  return OPS_PER_ROUND / seconds
}

const best = { service: 0, bare: 0, bareRedacted: 0, bareRawKey: 0 }
for (let round = 0; round < WARM_UP_ROUNDS + ROUNDS; round++) {
  for (const name of Object.keys(variants) as Array<keyof typeof variants>) {
    const opsPerSecond = time(variants[name])
    if (round >= WARM_UP_ROUNDS) best[name] = Math.max(best[name], opsPerSecond)
  }
}

const k = (opsPerSecond: number) => `${Math.round(opsPerSecond / 1000)}k ops/s`
const ratio = (opsPerSecond: number) => `${(best.bare / opsPerSecond).toFixed(2)}x`
console.log(
  `decrypt connection string: service ${k(best.service)}, bare node:crypto ${k(best.bare)}, ` +
    `ratio ${ratio(best.service)} (goal <= ${GOAL}x)`
)
console.log(
  `  for reference: bare + Redacted.make ${k(best.bareRedacted)} (${ratio(best.bareRedacted)}); ` +
    `bare passing the raw key bytes each call ${k(best.bareRawKey)} (${ratio(best.bareRawKey)})`
)
process.exitCode = best.bare / best.service <= GOAL ? 0 : 1
