/**
 * Encrypts connection strings at rest with AES-256-GCM (node:crypto): those of
 * tenant databases, and the admin connection strings of database servers.
 *
 * Every encryption draws a fresh random 96-bit nonce and yields a 128-bit tag,
 * stored in a versioned envelope that names its key:
 *
 *   v1:<key id>:<base64(nonce || ciphertext || tag)>
 *
 * The associated data binds each ciphertext to its column and row (column,
 * format version, key id, then the row's ids: tenant id and database record
 * id for a tenant database, the server id for a server), so a ciphertext
 * copied onto another row or into the other column, or a header edited to name
 * another key, fails to decrypt. The primary key encrypts; any key of the ring
 * decrypts, which is what rotation needs.
 *
 * Plaintext goes in and comes out as `Redacted<string>`; errors carry ids only.
 */
import { Buffer } from "node:buffer"
import * as nodeCrypto from "node:crypto"
import { Context, Effect, Exit, Layer, Redacted, Result, Schema } from "effect"
import * as EncryptionConfig from "./EncryptionConfig.ts"
import { isKeyId, type KeyId, KeyProvider, type KeyRing } from "./KeyRing.ts"

export const ENVELOPE_VERSION = "v1"
const ALGORITHM = "aes-256-gcm"
export const NONCE_BYTES = 12
export const TAG_BYTES = 16

/** The tenant database row a connection string belongs to; both ids take part in the associated data. */
export interface RowBinding {
  readonly tenantId: string
  readonly databaseId: string
}

/** The database server row an admin connection string belongs to; its id takes part in the associated data. */
export interface ServerBinding {
  readonly serverId: string
}

/**
 * Which row an error is about: a tenant database (tenantId and databaseId) or
 * a database server (serverId).
 */
const rowFields = {
  tenantId: Schema.optionalKey(Schema.String),
  databaseId: Schema.optionalKey(Schema.String),
  serverId: Schema.optionalKey(Schema.String)
}

type ErrorRow = { readonly tenantId?: string; readonly databaseId?: string; readonly serverId?: string }

const subjectOf = (row: ErrorRow): string =>
  row.serverId !== undefined
    ? `The admin connection string of database server ${row.serverId}`
    : `The connection string of tenant database ${row.databaseId}`

/** The ciphertext or its header was altered, or it belongs to another row. */
export class DecryptionFailed extends Schema.TaggedError<DecryptionFailed>()("DecryptionFailed", {
  keyId: Schema.String,
  ...rowFields
}) {
  override get message(): string {
    return `${subjectOf(this)} does not decrypt under key "${this.keyId}": it was altered or belongs to another row.`
  }
}

/** The envelope names a key the ring does not hold (retired too early, or a foreign ciphertext). */
export class UnknownKeyId extends Schema.TaggedError<UnknownKeyId>()("UnknownKeyId", {
  keyId: Schema.String,
  ...rowFields
}) {
  override get message(): string {
    return `${subjectOf(this)} is encrypted under key "${this.keyId}", which the key ring does not hold.`
  }
}

/** What is wrong with a malformed envelope: never its content. */
export const EnvelopeProblem = Schema.Literals([
  "not three fields",
  "unsupported version",
  "malformed key id",
  "payload not base64",
  "payload too short"
])
export type EnvelopeProblem = typeof EnvelopeProblem.Type

/** The stored value is not a `v1:<key id>:<base64>` envelope. */
export class MalformedEnvelope extends Schema.TaggedError<MalformedEnvelope>()("MalformedEnvelope", {
  problem: EnvelopeProblem,
  ...rowFields
}) {
  override get message(): string {
    return `${subjectOf(this)} is not a valid envelope (${this.problem}).`
  }
}

export type DecryptError = DecryptionFailed | UnknownKeyId | MalformedEnvelope

/** The text every envelope under `keyId` starts with, e.g. for a `starts_with` query. */
export const envelopePrefix = (keyId: string): string => `${ENVELOPE_VERSION}:${keyId}:`

interface Envelope {
  readonly keyId: string
  readonly nonce: Buffer
  readonly ciphertext: Buffer
  readonly tag: Buffer
}

/**
 * Splits an envelope into its parts; checks the shape only, not authenticity
 * (nor the key id's format, which only matters once the ring lacks the key).
 */
const splitEnvelope = (text: string): Result.Result<Envelope, EnvelopeProblem> => {
  const first = text.indexOf(":")
  const second = text.indexOf(":", first + 1)
  if (first === -1 || second === -1 || text.includes(":", second + 1)) return Result.fail("not three fields")
  if (text.slice(0, first) !== ENVELOPE_VERSION) return Result.fail("unsupported version")
  const encoded = text.slice(second + 1)
  const payload = Buffer.from(encoded, "base64")
  // Only the canonical encoding is accepted: Node skips stray characters, reads
  // the URL-safe alphabet and missing padding too, and ignores padding bits,
  // any of which would let an altered envelope decode as the original.
  // Re-encoding is native and measured cheaper than a regex or a JavaScript
  // loop over the text (about 0.1 against 0.2-0.3 microseconds).
  if (payload.toString("base64") !== encoded) return Result.fail("payload not base64")
  if (payload.length < NONCE_BYTES + TAG_BYTES) return Result.fail("payload too short")
  return Result.succeed({
    keyId: text.slice(first + 1, second),
    nonce: payload.subarray(0, NONCE_BYTES),
    ciphertext: payload.subarray(NONCE_BYTES, payload.length - TAG_BYTES),
    tag: payload.subarray(payload.length - TAG_BYTES)
  })
}

/** The key id an envelope names, or undefined when its header is malformed. */
export const envelopeKeyId = (text: string): KeyId | undefined => {
  const [version, keyId] = text.split(":", 3)
  return version === ENVELOPE_VERSION && keyId !== undefined && isKeyId(keyId) ? keyId : undefined
}

/*
 * The associated data is two JSON arrays back to back: one fixed per column
 * and key (column, format version, key id), computed once per key, and one
 * per row (tenant id and database id; or the server id). JSON keeps any id
 * from running into the next; ids are lower-cased because PostgreSQL hands
 * uuids back in lower case. The column keeps a server's admin connection
 * string and a tenant database's connection string apart even if their ids
 * were ever to collide.
 */
const columns = {
  tenantDatabase: "control_plane.tenant_databases.connection_string_encrypted",
  serverAdmin: "control_plane.database_servers.admin_connection_string_encrypted"
} as const
type Column = keyof typeof columns

const keyContext = (column: Column, keyId: string): string =>
  JSON.stringify([columns[column], ENVELOPE_VERSION, keyId])

const rowContext = (row: RowBinding): string =>
  JSON.stringify([row.tenantId.toLowerCase(), row.databaseId.toLowerCase()])

const serverContext = (server: ServerBinding): string => JSON.stringify([server.serverId.toLowerCase()])

/** The associated data binding a ciphertext under `keyId` to the tenant database `row`. */
export const associatedData = (keyId: string, row: RowBinding): Buffer =>
  Buffer.from(keyContext("tenantDatabase", keyId) + rowContext(row))

/** The associated data binding a ciphertext under `keyId` to the database server `server`. */
export const serverAssociatedData = (keyId: string, server: ServerBinding): Buffer =>
  Buffer.from(keyContext("serverAdmin", keyId) + serverContext(server))

/** The service: the primary key encrypts, every key of the ring decrypts. */
export class ConnectionStringCrypto extends Context.Service<ConnectionStringCrypto, {
  /** The key new ciphertexts are made under. */
  readonly primaryKeyId: KeyId
  /** Encrypts under the primary key, bound to `row`; returns the envelope. */
  readonly encrypt: (plaintext: Redacted.Redacted<string>, row: RowBinding) => Effect.Effect<string>
  /** Decrypts an envelope made for `row`, with whichever listed key it names. */
  readonly decrypt: (envelope: string, row: RowBinding) => Effect.Effect<Redacted.Redacted<string>, DecryptError>
  /** Encrypts a database server's admin connection string under the primary key, bound to `server`. */
  readonly encryptServerAdmin: (plaintext: Redacted.Redacted<string>, server: ServerBinding) => Effect.Effect<string>
  /** Decrypts an admin connection string made for `server`. */
  readonly decryptServerAdmin: (
    envelope: string,
    server: ServerBinding
  ) => Effect.Effect<Redacted.Redacted<string>, DecryptError>
  /** True when the envelope is already under the primary key (re-encryption can skip it). */
  readonly isCurrent: (envelope: string) => boolean
}>()("control-plane/ConnectionStringCrypto") {
  /** The service over a given ring (tests, benchmarks, or a caller with its own provider). */
  static readonly fromKeyRing = (ring: KeyRing): ConnectionStringCrypto["Service"] => makeCrypto(ring)

  /** Needs a `KeyProvider`; fails to build when the provider cannot produce a ring. */
  static readonly layerNoDeps = Layer.effect(
    ConnectionStringCrypto,
    Effect.gen(function*() {
      const provider = yield* KeyProvider
      const ring = yield* provider.keyRing
      yield* Effect.logDebug("Encryption key ring loaded").pipe(
        Effect.annotateLogs({ primaryKeyId: ring.primary.id, keyIds: ring.keys.map((key) => key.id).join(",") })
      )
      return makeCrypto(ring)
    })
  )

  /** Keys from configuration (EncryptionConfig). */
  static readonly layer = ConnectionStringCrypto.layerNoDeps.pipe(Layer.provide(EncryptionConfig.layer))
}

/** A key of the ring, imported once, with its part of the associated data for each column. */
interface ImportedKey {
  readonly keyObject: nodeCrypto.KeyObject
  readonly context: Record<Column, string>
}

const makeCrypto = (ring: KeyRing): ConnectionStringCrypto["Service"] => {
  // Importing each key once spares node:crypto an import on every call
  // (re-importing raw key bytes costs about three times the decryption itself).
  const imported = new Map<string, ImportedKey>(ring.keys.map((key) => [key.id, {
    keyObject: nodeCrypto.createSecretKey(Redacted.value(key.material)),
    context: { tenantDatabase: keyContext("tenantDatabase", key.id), serverAdmin: keyContext("serverAdmin", key.id) }
  }]))
  const primaryKeyId = ring.primary.id
  const primary = imported.get(primaryKeyId)!
  const primaryPrefix = envelopePrefix(primaryKeyId)

  const encryptNow = (plaintext: Redacted.Redacted<string>, column: Column, row: string): string => {
    const nonce = nodeCrypto.randomBytes(NONCE_BYTES)
    const cipher = nodeCrypto.createCipheriv(ALGORITHM, primary.keyObject, nonce, { authTagLength: TAG_BYTES })
    cipher.setAAD(Buffer.from(primary.context[column] + row))
    const ciphertext = Buffer.concat([cipher.update(Redacted.value(plaintext), "utf8"), cipher.final()])
    const payload = Buffer.concat([nonce, ciphertext, cipher.getAuthTag()])
    return primaryPrefix + payload.toString("base64")
  }

  /** Decrypts `text` made for `row` of `column`; `ids` are what an error names. */
  const decryptNow = (
    text: string,
    column: Column,
    row: string,
    ids: ErrorRow
  ): Exit.Exit<Redacted.Redacted<string>, DecryptError> => {
    const parsed = splitEnvelope(text)
    if (Result.isFailure(parsed)) {
      return Exit.fail(new MalformedEnvelope({ problem: parsed.failure, ...ids }))
    }
    const { keyId, nonce, ciphertext, tag } = parsed.success
    const key = imported.get(keyId)
    if (key === undefined) {
      return Exit.fail(
        isKeyId(keyId)
          ? new UnknownKeyId({ keyId, ...ids })
          : new MalformedEnvelope({ problem: "malformed key id", ...ids })
      )
    }
    try {
      // authTagLength pins the tag to 128 bits: node:crypto then refuses any other length.
      const decipher = nodeCrypto.createDecipheriv(ALGORITHM, key.keyObject, nonce, { authTagLength: TAG_BYTES })
      decipher.setAAD(Buffer.from(key.context[column] + row))
      decipher.setAuthTag(tag)
      const head = decipher.update(ciphertext)
      const tail = decipher.final() // checks the tag; GCM is a stream mode, so it adds no bytes
      const plaintext = tail.length === 0 ? head : Buffer.concat([head, tail])
      const value = plaintext.toString("utf8")
      plaintext.fill(0) // leave no copy of the plaintext in a pooled buffer
      return Exit.succeed(Redacted.make(value))
    } catch {
      // node:crypto only says "unable to authenticate data"; nothing of it is worth keeping.
      return Exit.fail(new DecryptionFailed({ keyId, ...ids }))
    }
  }

  // encrypt/decrypt run once per connection made, inside the caller's span
  // (e.g. TenantDatabases.reveal). Effect.fn's per-call span and stack capture
  // cost more than AES-GCM itself (bench/decrypt.ts), so these are plain
  // suspended effects.
  return ConnectionStringCrypto.of({
    primaryKeyId,
    encrypt: (plaintext, row) => Effect.sync(() => encryptNow(plaintext, "tenantDatabase", rowContext(row))),
    decrypt: (envelope, row) =>
      Effect.suspend(() =>
        decryptNow(envelope, "tenantDatabase", rowContext(row), { tenantId: row.tenantId, databaseId: row.databaseId })
      ),
    encryptServerAdmin: (plaintext, server) =>
      Effect.sync(() => encryptNow(plaintext, "serverAdmin", serverContext(server))),
    decryptServerAdmin: (envelope, server) =>
      Effect.suspend(() => decryptNow(envelope, "serverAdmin", serverContext(server), { serverId: server.serverId })),
    isCurrent: (envelope) => envelope.startsWith(primaryPrefix)
  })
}
