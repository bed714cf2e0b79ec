import { Buffer } from "node:buffer"
import * as nodeCrypto from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Redacted, Result } from "effect"
import {
  associatedData,
  ConnectionStringCrypto,
  type DecryptError,
  envelopeKeyId,
  envelopePrefix,
  NONCE_BYTES,
  type RowBinding,
  serverAssociatedData,
  TAG_BYTES
} from "../../src/crypto/ConnectionStringCrypto.ts"
import { ENCRYPTION_KEYS_VAR, PRIMARY_KEY_ID_VAR } from "../../src/crypto/EncryptionConfig.ts"
import { type EncryptionKey, KeyRing } from "../../src/crypto/KeyRing.ts"
import { assertNoSecrets, makeLogCapture, renderings } from "./leaks.ts"

const secret = "postgres://tenant_acme:Sup3r-S3cret-Pa55@db-17.internal:5432/tenant_acme?sslmode=require"
const plaintext = Redacted.make(secret)
const keyMaterial = (): Uint8Array => new Uint8Array(nodeCrypto.randomBytes(32))
const keyOf = (id: string, material = keyMaterial()): EncryptionKey => ({ id: id as never, material: Redacted.make(material) })
const ringOf = (keys: ReadonlyArray<EncryptionKey>, primary: string) => Result.getOrThrow(KeyRing.make(keys, primary))
const base64Of = (key: EncryptionKey) => Buffer.from(Redacted.value(key.material)).toString("base64")

const k1 = keyOf("k1")
const k2 = keyOf("k2")
const crypto = ConnectionStringCrypto.fromKeyRing(ringOf([k1], "k1"))
const rowA: RowBinding = { tenantId: nodeCrypto.randomUUID(), databaseId: nodeCrypto.randomUUID() }
const rowB: RowBinding = { tenantId: nodeCrypto.randomUUID(), databaseId: nodeCrypto.randomUUID() }

const payloadOf = (envelope: string) => Buffer.from(envelope.slice(envelope.lastIndexOf(":") + 1), "base64")
const withPayload = (envelope: string, payload: Buffer) =>
  envelope.slice(0, envelope.lastIndexOf(":") + 1) + payload.toString("base64")

const decryptError = (service: ConnectionStringCrypto["Service"], envelope: string, row: RowBinding) =>
  Effect.flip(service.decrypt(envelope, row))

/** None of these may show up anywhere: the plaintext, its password, the keys, the ciphertext. */
const secretsOf = (envelope: string) => [secret, "Sup3r-S3cret-Pa55", base64Of(k1), base64Of(k2), envelope.slice(10)]

const assertSafe = (error: DecryptError, envelope: string) => assertNoSecrets(renderings(error), secretsOf(envelope))

describe("ConnectionStringCrypto", () => {
  it.effect("round-trips a connection string, as Redacted in and out", () =>
    Effect.gen(function*() {
      const envelope = yield* crypto.encrypt(plaintext, rowA)
      const revealed = yield* crypto.decrypt(envelope, rowA)
      assert.strictEqual(String(revealed), "<redacted>")
      assert.strictEqual(Redacted.value(revealed), secret)
      const unicode = Redacted.make("postgres://ünï:çødé@host/db — ✓")
      assert.strictEqual(Redacted.value(yield* crypto.decrypt(yield* crypto.encrypt(unicode, rowA), rowA)), Redacted.value(unicode))
    }))

  it.effect("writes v1:<key id>:<base64(nonce || ciphertext || tag)> without the plaintext", () =>
    Effect.gen(function*() {
      const envelope = yield* crypto.encrypt(plaintext, rowA)
      assert.match(envelope, /^v1:k1:[A-Za-z0-9+/]+={0,2}$/)
      assert.isTrue(envelope.startsWith(envelopePrefix("k1")))
      assert.strictEqual(envelopeKeyId(envelope), "k1")
      assert.strictEqual(payloadOf(envelope).length, NONCE_BYTES + Buffer.byteLength(secret) + TAG_BYTES)
      assertNoSecrets([envelope], [secret, "Sup3r-S3cret-Pa55"])
    }))

  it.effect("is plain AES-256-GCM with the documented associated data (bare node:crypto decrypts it)", () =>
    Effect.gen(function*() {
      const envelope = yield* crypto.encrypt(plaintext, rowA)
      const payload = payloadOf(envelope)
      const decipher = nodeCrypto.createDecipheriv("aes-256-gcm", Redacted.value(k1.material), payload.subarray(0, NONCE_BYTES), { authTagLength: 16 })
      decipher.setAAD(associatedData("k1", rowA))
      decipher.setAuthTag(payload.subarray(payload.length - TAG_BYTES))
      const bare = Buffer.concat([decipher.update(payload.subarray(NONCE_BYTES, payload.length - TAG_BYTES)), decipher.final()])
      assert.strictEqual(bare.toString("utf8"), secret)
    }))

  it.effect("draws a fresh nonce for every encryption", () =>
    Effect.gen(function*() {
      const envelopes = yield* Effect.forEach(Array.from({ length: 50 }), () => crypto.encrypt(plaintext, rowA))
      assert.strictEqual(new Set(envelopes).size, 50)
      assert.strictEqual(new Set(envelopes.map((e) => payloadOf(e).subarray(0, NONCE_BYTES).toString("hex"))).size, 50)
    }))

  it.effect("accepts the row's uuids in any case (PostgreSQL returns them lower-cased)", () =>
    Effect.gen(function*() {
      const envelope = yield* crypto.encrypt(plaintext, { tenantId: rowA.tenantId.toUpperCase(), databaseId: rowA.databaseId })
      assert.strictEqual(Redacted.value(yield* crypto.decrypt(envelope, rowA)), secret)
    }))

  it.effect("flipping any single byte of the payload gives DecryptionFailed", () =>
    Effect.gen(function*() {
      const envelope = yield* crypto.encrypt(plaintext, rowA)
      const payload = payloadOf(envelope)
      for (let i = 0; i < payload.length; i++) {
        for (const mask of [0x01, 0x80, 0xff]) {
          const altered = Buffer.from(payload)
          altered[i] = altered[i]! ^ mask
          const error = yield* decryptError(crypto, withPayload(envelope, altered), rowA)
          assert.strictEqual(error._tag, "DecryptionFailed", `byte ${i} ^ ${mask}`)
          assertSafe(error, envelope)
        }
      }
    }))

  it.effect("flipping any character of the envelope text (header or base64) gives a typed error", () =>
    Effect.gen(function*() {
      // k0 holds the same material as k1: only the associated data tells a header naming k0 apart.
      const twin = ConnectionStringCrypto.fromKeyRing(ringOf([k1, { ...k1, id: "k0" as never }], "k1"))
      const envelope = yield* twin.encrypt(plaintext, rowA)
      const seen = new Set<string>()
      for (let i = 0; i < envelope.length; i++) {
        const altered = envelope.slice(0, i) + String.fromCharCode(envelope.charCodeAt(i) ^ 0x01) + envelope.slice(i + 1)
        const error = yield* decryptError(twin, altered, rowA)
        assert.include(["DecryptionFailed", "UnknownKeyId", "MalformedEnvelope"], error._tag, `character ${i}`)
        assertSafe(error, envelope)
        seen.add(i < 6 ? `${i}:${error._tag}` : error._tag)
      }
      assert.isTrue(seen.has("0:MalformedEnvelope")) // "u1:" is no version we know
      assert.isTrue(seen.has("4:DecryptionFailed")) // "k0" exists, but the ciphertext is bound to "k1"
      assert.isTrue(seen.has("2:MalformedEnvelope")) // ";" instead of ":"
    }))

  it.effect("a ciphertext copied onto another row, or swapped between two rows, gives DecryptionFailed", () =>
    Effect.gen(function*() {
      const forA = yield* crypto.encrypt(plaintext, rowA)
      const forB = yield* crypto.encrypt(Redacted.make("postgres://other"), rowB)
      for (const [envelope, row] of [[forA, rowB], [forB, rowA]] as const) {
        const error = yield* decryptError(crypto, envelope, row)
        assert.strictEqual(error._tag, "DecryptionFailed")
        assert.deepInclude(error, { keyId: "k1", tenantId: row.tenantId, databaseId: row.databaseId })
      }
      // Same tenant, other record; same record id, other tenant.
      assert.strictEqual((yield* decryptError(crypto, forA, { ...rowA, databaseId: rowB.databaseId }))._tag, "DecryptionFailed")
      assert.strictEqual((yield* decryptError(crypto, forA, { ...rowA, tenantId: rowB.tenantId }))._tag, "DecryptionFailed")
    }))

  it.effect("a key removed from the ring gives UnknownKeyId", () =>
    Effect.gen(function*() {
      const envelope = yield* crypto.encrypt(plaintext, rowA)
      const withoutK1 = ConnectionStringCrypto.fromKeyRing(ringOf([k2], "k2"))
      const error = yield* decryptError(withoutK1, envelope, rowA)
      assert.strictEqual(error._tag, "UnknownKeyId")
      assert.deepInclude(error, { keyId: "k1", databaseId: rowA.databaseId })
      assert.strictEqual(
        error.message,
        `The connection string of tenant database ${rowA.databaseId} is encrypted under key "k1", which the key ring does not hold.`
      )
      assertSafe(error, envelope)
    }))

  it.effect("a key with the right id but other material gives DecryptionFailed", () =>
    Effect.gen(function*() {
      const envelope = yield* crypto.encrypt(plaintext, rowA)
      const impostor = ConnectionStringCrypto.fromKeyRing(ringOf([keyOf("k1")], "k1"))
      assert.strictEqual((yield* decryptError(impostor, envelope, rowA))._tag, "DecryptionFailed")
    }))

  it.effect("rotation: the primary encrypts, every listed key decrypts", () =>
    Effect.gen(function*() {
      const old = yield* crypto.encrypt(plaintext, rowA)
      const rotated = ConnectionStringCrypto.fromKeyRing(ringOf([k1, k2], "k2"))
      assert.strictEqual(rotated.primaryKeyId, "k2")
      assert.isFalse(rotated.isCurrent(old))
      assert.strictEqual(Redacted.value(yield* rotated.decrypt(old, rowA)), secret)
      const fresh = yield* rotated.encrypt(plaintext, rowA)
      assert.strictEqual(envelopeKeyId(fresh), "k2")
      assert.isTrue(rotated.isCurrent(fresh))
      assert.strictEqual(Redacted.value(yield* rotated.decrypt(fresh, rowA)), secret)
      assert.strictEqual((yield* decryptError(crypto, fresh, rowA))._tag, "UnknownKeyId")
    }))

  it.effect("malformed envelopes give MalformedEnvelope naming the problem, not the content", () =>
    Effect.gen(function*() {
      const envelope = yield* crypto.encrypt(plaintext, rowA)
      const payload = payloadOf(envelope)
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["", "not three fields"],
        ["v1:k1", "not three fields"],
        [`${envelope}:extra`, "not three fields"],
        [envelope.replace(/^v1/, "v2"), "unsupported version"],
        [envelope.replace(":k1:", ":bad key:"), "malformed key id"],
        [envelope.replace(":k1:", "::"), "malformed key id"],
        [envelope + "!", "payload not base64"],
        [envelope.replace(":k1:", ":k1: "), "payload not base64"],
        [withPayload(envelope, payload.subarray(0, NONCE_BYTES + TAG_BYTES - 1)), "payload too short"]
      ]
      for (const [text, problem] of cases) {
        const error = yield* decryptError(crypto, text, rowA)
        assert.strictEqual(error._tag, "MalformedEnvelope", JSON.stringify(problem))
        assert.strictEqual((error as { problem: string }).problem, problem)
        assertSafe(error, envelope)
      }
    }))

  it.effect("a shortened tag (96 bits instead of 128) does not authenticate", () =>
    Effect.gen(function*() {
      const envelope = yield* crypto.encrypt(plaintext, rowA)
      const payload = payloadOf(envelope)
      const error = yield* decryptError(crypto, withPayload(envelope, payload.subarray(0, payload.length - 4)), rowA)
      assert.strictEqual(error._tag, "DecryptionFailed")
      // node:crypto itself, told the tag is 128 bits, refuses a 96-bit one.
      const decipher = nodeCrypto.createDecipheriv("aes-256-gcm", Redacted.value(k1.material), payload.subarray(0, NONCE_BYTES), { authTagLength: 16 })
      assert.throws(() => decipher.setAuthTag(payload.subarray(payload.length - 12)))
    }))

  it.effect("decryption errors render (String, JSON, Cause.pretty, inspect) with ids only", () =>
    Effect.gen(function*() {
      const envelope = yield* crypto.encrypt(plaintext, rowA)
      const error = yield* decryptError(crypto, envelope, rowB)
      assert.strictEqual(
        String(error),
        `DecryptionFailed: The connection string of tenant database ${rowB.databaseId} does not decrypt under key "k1": it was altered or belongs to another row.`
      )
      assert.deepStrictEqual(JSON.parse(JSON.stringify(error)), { _tag: "DecryptionFailed", keyId: "k1", ...rowB })
      assertSafe(error, envelope)
    }))
})

describe("ConnectionStringCrypto: database servers' admin connection strings", () => {
  const serverA = { serverId: nodeCrypto.randomUUID() }
  const serverB = { serverId: nodeCrypto.randomUUID() }

  it.effect("round-trip under the same envelope format, bound to the server row", () =>
    Effect.gen(function*() {
      const envelope = yield* crypto.encryptServerAdmin(plaintext, serverA)
      assert.match(envelope, /^v1:k1:[A-Za-z0-9+/]+={0,2}$/)
      assert.strictEqual(Redacted.value(yield* crypto.decryptServerAdmin(envelope, serverA)), secret)
      assert.strictEqual(
        Redacted.value(yield* crypto.decryptServerAdmin(envelope, { serverId: serverA.serverId.toUpperCase() })),
        secret
      )
    }))

  it.effect("use their own associated data: the server column and id (bare node:crypto decrypts it)", () =>
    Effect.gen(function*() {
      const payload = payloadOf(yield* crypto.encryptServerAdmin(plaintext, serverA))
      const decipher = nodeCrypto.createDecipheriv("aes-256-gcm", Redacted.value(k1.material), payload.subarray(0, NONCE_BYTES), { authTagLength: 16 })
      decipher.setAAD(serverAssociatedData("k1", serverA))
      decipher.setAuthTag(payload.subarray(payload.length - TAG_BYTES))
      const bare = Buffer.concat([decipher.update(payload.subarray(NONCE_BYTES, payload.length - TAG_BYTES)), decipher.final()])
      assert.strictEqual(bare.toString("utf8"), secret)
    }))

  it.effect("a server's ciphertext does not decrypt for another server, nor as a tenant database's, nor the reverse", () =>
    Effect.gen(function*() {
      const forServer = yield* crypto.encryptServerAdmin(plaintext, serverA)
      const error = yield* Effect.flip(crypto.decryptServerAdmin(forServer, serverB))
      assert.strictEqual(error._tag, "DecryptionFailed")
      assert.deepInclude(error, { keyId: "k1", serverId: serverB.serverId })
      assert.strictEqual(
        error.message,
        `The admin connection string of database server ${serverB.serverId} does not decrypt under key "k1": it was altered or belongs to another row.`
      )
      // The same uuid as a server id and as a database id still names two different columns.
      const sameIds: RowBinding = { tenantId: serverA.serverId, databaseId: serverA.serverId }
      assert.strictEqual((yield* decryptError(crypto, forServer, sameIds))._tag, "DecryptionFailed")
      const forDatabase = yield* crypto.encrypt(plaintext, rowA)
      assert.strictEqual((yield* Effect.flip(crypto.decryptServerAdmin(forDatabase, { serverId: rowA.databaseId })))._tag, "DecryptionFailed")
      assertSafe(error, forServer)
    }))

  it.effect("unknown keys and malformed envelopes name the server, never the content", () =>
    Effect.gen(function*() {
      const other = ConnectionStringCrypto.fromKeyRing(ringOf([k2], "k2"))
      const envelope = yield* crypto.encryptServerAdmin(plaintext, serverA)
      const unknown = yield* Effect.flip(other.decryptServerAdmin(envelope, serverA))
      assert.strictEqual(unknown._tag, "UnknownKeyId")
      assert.strictEqual(
        unknown.message,
        `The admin connection string of database server ${serverA.serverId} is encrypted under key "k1", which the key ring does not hold.`
      )
      const malformed = yield* Effect.flip(crypto.decryptServerAdmin("v2:k1:AAAA", serverA))
      assert.deepInclude(malformed, { _tag: "MalformedEnvelope", problem: "unsupported version", serverId: serverA.serverId })
    }))

  it.effect("tenant database envelopes made before servers existed still decrypt (their associated data is unchanged)", () =>
    Effect.gen(function*() {
      // Made by hand with the pre-existing formula, not by the service.
      const nonce = nodeCrypto.randomBytes(NONCE_BYTES)
      const cipher = nodeCrypto.createCipheriv("aes-256-gcm", Redacted.value(k1.material), nonce, { authTagLength: 16 })
      cipher.setAAD(Buffer.from(
        JSON.stringify(["control_plane.tenant_databases.connection_string_encrypted", "v1", "k1"]) +
          JSON.stringify([rowA.tenantId, rowA.databaseId])
      ))
      const body = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()])
      const envelope = `v1:k1:${Buffer.concat([nonce, body, cipher.getAuthTag()]).toString("base64")}`
      assert.strictEqual(Redacted.value(yield* crypto.decrypt(envelope, rowA)), secret)
    }))
})

describe("ConnectionStringCrypto.layer (keys from config)", () => {
  const config = (env: Record<string, string>) => ConfigProvider.layer(ConfigProvider.fromEnv({ env }))

  it.effect("builds from CONTROL_PLANE_ENCRYPTION_KEYS, logging key ids but never keys", () => {
    const capture = makeLogCapture()
    const env = { [ENCRYPTION_KEYS_VAR]: `k1:${base64Of(k1)},k2:${base64Of(k2)}`, [PRIMARY_KEY_ID_VAR]: "k2" }
    return Effect.gen(function*() {
      const service = yield* ConnectionStringCrypto
      assert.strictEqual(service.primaryKeyId, "k2")
      const envelope = yield* service.encrypt(plaintext, rowA)
      yield* Effect.logDebug("revealed", yield* service.decrypt(envelope, rowA)) // a careless caller logging the Redacted
      const joined = capture.lines.join("\n")
      assert.include(joined, "Encryption key ring loaded")
      assert.include(joined, "k1,k2")
      assertNoSecrets(capture.lines, secretsOf(envelope))
    }).pipe(Effect.provide(ConnectionStringCrypto.layer.pipe(Layer.provide(capture.layer), Layer.provide(config(env)))), Effect.provide(capture.layer))
  })

  it.effect("fails to build, in one sentence without the key, when a key is malformed", () =>
    Effect.gen(function*() {
      const short = Buffer.from(Redacted.value(k1.material)).subarray(0, 24).toString("base64")
      const env = { [ENCRYPTION_KEYS_VAR]: `k1:${short}`, [PRIMARY_KEY_ID_VAR]: "k1" }
      const error = yield* Effect.flip(Layer.build(ConnectionStringCrypto.layer.pipe(Layer.provide(config(env)))))
      assert.strictEqual(error._tag, "KeyRingError")
      assert.strictEqual(error.message, `${ENCRYPTION_KEYS_VAR}: key "k1" is 24 bytes long, AES-256 needs exactly 32 (make one with \`openssl rand -base64 32\`).`)
      assertNoSecrets(renderings(error), [short, base64Of(k1)])
    }))
})
