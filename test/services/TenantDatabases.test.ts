/**
 * TenantDatabases against the real PostgreSQL: every operation and error,
 * ciphertexts bound to their rows, key rotation with resumable re-encryption,
 * and no connection string or key in any error or log line.
 */
import { Buffer } from "node:buffer"
import * as nodeCrypto from "node:crypto"
import { assert, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Redacted, Result } from "effect"
import { ConnectionStringCrypto } from "../../src/crypto/ConnectionStringCrypto.ts"
import { type EncryptionKey, KeyRing } from "../../src/crypto/KeyRing.ts"
import { Db, sql } from "../../src/db/Db.ts"
import { ConnectionError, DbError } from "../../src/domain/errors.ts"
import { type ReencryptProgress, TenantDatabases } from "../../src/services/TenantDatabases.ts"
import { testActor, testDbLayer } from "../db/testDb.ts"
import { assertNoSecrets, makeLogCapture, renderings } from "../crypto/leaks.ts"

const keyOf = (id: string): EncryptionKey => ({
  id: id as never,
  material: Redacted.make(new Uint8Array(nodeCrypto.randomBytes(32)))
})
const k1 = keyOf("k1")
const k2 = keyOf("k2")
const ring = (keys: ReadonlyArray<EncryptionKey>, primary: string) => Result.getOrThrow(KeyRing.make(keys, primary))
const ringK1 = ring([k1], "k1")
const ringK1K2 = ring([k1, k2], "k2") // k2 added and made primary; k1 still decrypts
const ringK2 = ring([k2], "k2") // k1 retired

/**
 * Runs `effect` with TenantDatabases over the file's Db and the given key ring.
 * Layer.fresh: layers are memoized, and a nested provide must not get the
 * service built for an outer ring.
 */
const withRing = (keyRing: KeyRing) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provide(
    effect,
    Layer.fresh(TenantDatabases.layerNoDeps).pipe(
      Layer.provide(Layer.succeed(ConnectionStringCrypto, ConnectionStringCrypto.fromKeyRing(keyRing)))
    )
  )

const base64Of = (key: EncryptionKey) => Buffer.from(Redacted.value(key.material)).toString("base64")

/** A connection string with a password unique to this call. */
const newConnectionString = () => {
  const password = `pw-${nodeCrypto.randomBytes(9).toString("hex")}`
  return { password, text: `postgres://tenant_app:${password}@db-7.internal:5432/tenant_db?sslmode=require` }
}

/** What register takes for a database on db-7.internal, with `text` (by default a fresh connection string). */
const registration = (tenantId: string, databaseName: string, text = newConnectionString().text) => ({
  tenantId,
  connectionString: Redacted.make(text),
  databaseName,
  host: "db-7.internal"
})

const newTenant = Effect.fn(function*() {
  const db = yield* Db
  const rows = yield* db.query<{ tenant_id: string }>(
    sql`INSERT INTO control_plane.tenants (name, environment, status)
        VALUES (${`tenant-${nodeCrypto.randomUUID()}`}, 'development', 'pending') RETURNING tenant_id`
  )
  return rows[0]!.tenant_id
})

const storedEnvelope = Effect.fn(function*(id: string) {
  const rows = yield* (yield* Db).query<{ connection_string_encrypted: string }>(
    sql`SELECT connection_string_encrypted FROM control_plane.tenant_databases WHERE id = ${id}`
  )
  return rows[0]!.connection_string_encrypted
})

const storeEnvelope = (id: string, envelope: string) =>
  Db.use((db) =>
    db.query(sql`UPDATE control_plane.tenant_databases SET connection_string_encrypted = ${envelope} WHERE id = ${id}`)
  )

const countRows = Db.use((db) =>
  db.query<{ n: bigint }>(sql`SELECT count(*) AS n FROM control_plane.tenant_databases`)
).pipe(Effect.map((rows) => Number(rows[0]!.n)))

const countUnderKey = (keyId: string) =>
  Db.use((db) =>
    db.query<{ n: bigint }>(
      sql`SELECT count(*) AS n FROM control_plane.tenant_databases
          WHERE starts_with(connection_string_encrypted, ${`v1:${keyId}:`})`
    )
  ).pipe(Effect.map((rows) => Number(rows[0]!.n)))

/** Rotation tests count every row of the table: start them from an empty one. */
const emptyTable = Db.use((db) => db.query(sql`DELETE FROM control_plane.tenant_databases`))

/** Registers `count` databases under `keyRing`'s primary key; gives their ids and plaintexts. */
const registerMany = (keyRing: KeyRing, count: number) =>
  Effect.gen(function*() {
    const service = yield* TenantDatabases
    const tenantId = yield* newTenant()
    return yield* Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) =>
      Effect.gen(function*() {
        const { text } = newConnectionString()
        const database = yield* service.register(registration(tenantId, `tenant_db_${i}`, text))
        return { id: database.id, text }
      }))
  }).pipe(withRing(keyRing))

const revealAll = (keyRing: KeyRing, databases: ReadonlyArray<{ id: string; text: string }>) =>
  Effect.gen(function*() {
    const service = yield* TenantDatabases
    for (const { id, text } of databases) {
      assert.strictEqual(Redacted.value(yield* service.reveal(id)), text)
    }
  }).pipe(withRing(keyRing))

it.layer(Layer.merge(testDbLayer("tenant_databases"), testActor()), { timeout: "120 seconds" })("TenantDatabases", (it) => {
  it.effect("register encrypts before SQL, defaults port 5432 and status inactive, and reveal gives the string back", () =>
    Effect.gen(function*() {
      const service = yield* TenantDatabases
      const tenantId = yield* newTenant()
      const { password, text } = newConnectionString()
      const database = yield* service.register(registration(tenantId, "acme_prod", text))
      assert.match(database.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      const { databaseName, host, port, status, keyId } = database
      assert.deepStrictEqual(
        { tenantId: database.tenantId, databaseName, host, port, status, keyId },
        { tenantId, databaseName: "acme_prod", host: "db-7.internal", port: 5432, status: "inactive", keyId: "k1" }
      )
      assert.instanceOf(database.createdAt, Date)
      const stored = yield* storedEnvelope(database.id)
      assert.match(stored, /^v1:k1:[A-Za-z0-9+/]+=*$/)
      assertNoSecrets([stored, JSON.stringify(database), String(database)], [text, password])
      const revealed = yield* service.reveal(database.id)
      assert.strictEqual(String(revealed), "<redacted>")
      assert.strictEqual(Redacted.value(revealed), text)
    }).pipe(withRing(ringK1)))

  it.effect("register stores the port and status given, and accepts an upper-case tenant id", () =>
    Effect.gen(function*() {
      const service = yield* TenantDatabases
      const tenantId = yield* newTenant()
      const { text } = newConnectionString()
      const database = yield* service.register({
        tenantId: tenantId.toUpperCase(),
        connectionString: Redacted.make(text),
        databaseName: "acme_eu",
        host: "10.0.3.7",
        port: 6432,
        status: "active"
      })
      assert.deepStrictEqual([database.tenantId, database.port, database.status], [tenantId, 6432, "active"])
      assert.strictEqual(Redacted.value(yield* service.reveal(database.id)), text)
    }).pipe(withRing(ringK1)))

  it.effect("register for a missing tenant is TenantNotFound, and nothing is written", () =>
    Effect.gen(function*() {
      const service = yield* TenantDatabases
      const before = yield* countRows
      const missing = nodeCrypto.randomUUID()
      const { password, text } = newConnectionString()
      const error = yield* Effect.flip(service.register(registration(missing, "ghost", text)))
      assert.strictEqual(error._tag, "TenantNotFound")
      assert.deepInclude(error, { tenantId: missing })
      assert.strictEqual(yield* countRows, before)
      assertNoSecrets(renderings(error), [text, password])
    }).pipe(withRing(ringK1)))

  it.effect("register refuses bad input with InvalidInput naming the field, and writes nothing", () =>
    Effect.gen(function*() {
      const service = yield* TenantDatabases
      const tenantId = yield* newTenant()
      const { password, text } = newConnectionString()
      const valid = registration(tenantId, "acme", text)
      const before = yield* countRows
      const cases: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
        ["tenantId", { tenantId: "not-a-uuid" }],
        ["connectionString", { connectionString: text }], // a plain string: it must come Redacted
        ["connectionString", { connectionString: Redacted.make("   ") }],
        // What the driver would refuse when the string is used: checked now, not at the first connection.
        ["connectionString", { connectionString: Redacted.make(text.replace("sslmode=require", "sslmode=bogus")) }],
        ["connectionString", { connectionString: Redacted.make(text.replace("@", "%ZZ@")) }],
        ["databaseName", { databaseName: "" }],
        ["databaseName", { databaseName: "x".repeat(256) }],
        ["databaseName", { databaseName: "bad\nname" }],
        ["host", { host: "db 7" }],
        ["port", { port: 0 }],
        ["port", { port: 65536 }],
        ["port", { port: 5432.5 }],
        ["status", { status: "deleted" }]
      ]
      for (const [field, change] of cases) {
        const error = yield* Effect.flip(service.register({ ...valid, ...change } as never))
        assert.strictEqual(error._tag, "InvalidInput", field)
        assert.include(error.message, `["${field}"]`)
        assertNoSecrets(renderings(error), [text, password])
      }
      assert.strictEqual(yield* countRows, before)
    }).pipe(withRing(ringK1)))

  it.effect("listForTenant gives the tenant's databases oldest first, [] when none, TenantNotFound when no tenant", () =>
    Effect.gen(function*() {
      const service = yield* TenantDatabases
      const tenantId = yield* newTenant()
      assert.deepStrictEqual(yield* service.listForTenant(tenantId), [])
      const first = yield* service.register(registration(tenantId, "first"))
      const second = yield* service.register({ ...registration(tenantId, "second"), host: "db-8.internal" })
      yield* registerMany(ringK1, 1) // another tenant's database stays out of the list
      const listed = yield* service.listForTenant(tenantId)
      assert.deepStrictEqual(listed.map((d) => d.id), [first.id, second.id])
      assert.deepStrictEqual(listed[1], second)
      const missing = nodeCrypto.randomUUID()
      const notFound = yield* Effect.flip(service.listForTenant(missing))
      assert.strictEqual(notFound._tag, "TenantNotFound")
      assert.strictEqual((yield* Effect.flip(service.listForTenant("nope")))._tag, "InvalidInput")
    }).pipe(withRing(ringK1)))

  it.effect("get gives the record; a missing id is TenantDatabaseNotFound, a malformed one InvalidInput", () =>
    Effect.gen(function*() {
      const service = yield* TenantDatabases
      const [registered] = yield* registerMany(ringK1, 1)
      const database = yield* service.get(registered!.id)
      assert.strictEqual(database.id, registered!.id)
      assert.strictEqual(database.keyId, "k1")
      const missing = nodeCrypto.randomUUID()
      const error = yield* Effect.flip(service.get(missing))
      assert.strictEqual(error._tag, "TenantDatabaseNotFound")
      assert.strictEqual(error.message, `No tenant database has the id ${missing}`)
      assert.strictEqual((yield* Effect.flip(service.get("42")))._tag, "InvalidInput")
      assert.strictEqual((yield* Effect.flip(service.reveal(missing)))._tag, "TenantDatabaseNotFound")
      assert.strictEqual((yield* Effect.flip(service.reveal("42")))._tag, "InvalidInput")
    }).pipe(withRing(ringK1)))

  it.effect("setStatus changes the status and sets updated_at itself (even with the trigger off)", () =>
    Effect.gen(function*() {
      const service = yield* TenantDatabases
      const db = yield* Db
      const [registered] = yield* registerMany(ringK1, 1)
      const before = yield* service.get(registered!.id)
      yield* Effect.acquireRelease(
        db.query(sql`ALTER TABLE control_plane.tenant_databases DISABLE TRIGGER update_tenant_databases_updated_at`),
        () => Effect.orDie(db.query(sql`ALTER TABLE control_plane.tenant_databases ENABLE TRIGGER update_tenant_databases_updated_at`))
      )
      const changed = yield* service.setStatus(registered!.id, "migrating")
      assert.strictEqual(changed.status, "migrating")
      assert.isAbove(changed.updatedAt.getTime(), before.updatedAt.getTime())
      assert.deepStrictEqual(yield* service.get(registered!.id), changed)
      const missing = nodeCrypto.randomUUID()
      assert.strictEqual((yield* Effect.flip(service.setStatus(missing, "active")))._tag, "TenantDatabaseNotFound")
      const invalid = yield* Effect.flip(service.setStatus(registered!.id, "paused"))
      assert.strictEqual(invalid._tag, "InvalidInput")
      assert.strictEqual((yield* service.get(registered!.id)).status, "migrating")
    }).pipe(withRing(ringK1)))

  it.effect("setStatus and register follow the lifecycle: a move it does not allow is IllegalTransition, nothing written", () =>
    Effect.gen(function*() {
      const service = yield* TenantDatabases
      const [registered] = yield* registerMany(ringK1, 1)
      yield* service.setStatus(registered!.id, "migrating")
      yield* service.setStatus(registered!.id, "error")
      const refused = yield* Effect.flip(service.setStatus(registered!.id, "active"))
      assert.strictEqual(refused._tag, "IllegalTransition")
      assert.deepInclude(refused, { entity: "database", id: registered!.id, from: "error", to: "active", allowed: ["migrating", "inactive"] })
      assert.strictEqual(
        refused.message,
        `Tenant database ${registered!.id} cannot move from error to active; from error it can move to migrating or inactive`
      )
      assert.strictEqual((yield* service.get(registered!.id)).status, "error")
      const tenantId = yield* newTenant()
      const born = yield* Effect.flip(service.register({ ...registration(tenantId, "born_broken"), status: "error" }))
      assert.strictEqual(born._tag, "IllegalTransition")
      assert.strictEqual(born.message, "A new tenant database cannot start as error; it may start as inactive, migrating or active")
      assert.deepStrictEqual(yield* service.listForTenant(tenantId), [])
    }).pipe(withRing(ringK1)))

  it.effect("remove deletes the record and gives it; a second remove is TenantDatabaseNotFound", () =>
    Effect.gen(function*() {
      const service = yield* TenantDatabases
      const [registered] = yield* registerMany(ringK1, 1)
      const removed = yield* service.remove(registered!.id)
      assert.strictEqual(removed.id, registered!.id)
      assert.strictEqual((yield* Effect.flip(service.get(registered!.id)))._tag, "TenantDatabaseNotFound")
      assert.strictEqual((yield* Effect.flip(service.remove(registered!.id)))._tag, "TenantDatabaseNotFound")
      assert.strictEqual((yield* Effect.flip(service.remove("x")))._tag, "InvalidInput")
    }).pipe(withRing(ringK1)))

  it.effect("a stored ciphertext with any single byte flipped does not reveal (DecryptionFailed)", () =>
    Effect.gen(function*() {
      const service = yield* TenantDatabases
      const [registered] = yield* registerMany(ringK1, 1)
      const id = registered!.id
      const original = yield* storedEnvelope(id)
      const header = original.slice(0, original.lastIndexOf(":") + 1)
      const payload = Buffer.from(original.slice(header.length), "base64")
      for (let i = 0; i < payload.length; i++) {
        const altered = Buffer.from(payload)
        altered[i] = altered[i]! ^ 0x01
        yield* storeEnvelope(id, header + altered.toString("base64"))
        const error = yield* Effect.flip(service.reveal(id))
        assert.strictEqual(error._tag, "DecryptionFailed", `byte ${i}`)
        assertNoSecrets(renderings(error), [registered!.text, original])
      }
      // Every character of the header too: a typed error each time.
      for (let i = 0; i < header.length; i++) {
        const altered = header.slice(0, i) + String.fromCharCode(header.charCodeAt(i) ^ 0x01) + header.slice(i + 1)
        yield* storeEnvelope(id, altered + original.slice(header.length))
        const error = yield* Effect.flip(service.reveal(id))
        assert.include(["MalformedEnvelope", "UnknownKeyId"], error._tag, `header character ${i}`)
      }
      yield* storeEnvelope(id, "v2:k1:AAAA")
      assert.strictEqual((yield* Effect.flip(service.reveal(id)))._tag, "MalformedEnvelope")
      assert.isNull((yield* service.get(id)).keyId)
      yield* storeEnvelope(id, original)
      assert.strictEqual(Redacted.value(yield* service.reveal(id)), registered!.text)
    }).pipe(withRing(ringK1)))

  it.effect("ciphertexts swapped between two rows do not reveal", () =>
    Effect.gen(function*() {
      const service = yield* TenantDatabases
      const [a] = yield* registerMany(ringK1, 1)
      const [b] = yield* registerMany(ringK1, 1) // another tenant
      const envelopeA = yield* storedEnvelope(a!.id)
      const envelopeB = yield* storedEnvelope(b!.id)
      yield* storeEnvelope(a!.id, envelopeB)
      yield* storeEnvelope(b!.id, envelopeA)
      for (const { id } of [a!, b!]) {
        const error = yield* Effect.flip(service.reveal(id))
        assert.strictEqual(error._tag, "DecryptionFailed")
        assert.deepInclude(error, { databaseId: id, keyId: "k1" })
      }
      yield* storeEnvelope(a!.id, envelopeA)
      yield* storeEnvelope(b!.id, envelopeB)
      yield* revealAll(ringK1, [a!, b!])
    }).pipe(withRing(ringK1)))

  it.effect("a row under a key the ring no longer holds is UnknownKeyId", () =>
    Effect.gen(function*() {
      const databases = yield* registerMany(ringK1, 1)
      const error = yield* Effect.flip(revealAll(ringK2, databases))
      assert.strictEqual(error._tag, "UnknownKeyId")
      assert.deepInclude(error, { keyId: "k1", databaseId: databases[0]!.id })
    }))

  it.effect("after a new primary key, reencryptAll leaves every row readable and none under the old key", () =>
    Effect.gen(function*() {
      yield* emptyTable
      const databases = yield* registerMany(ringK1, 7)
      const progress: Array<ReencryptProgress> = []
      const summary = yield* TenantDatabases.use((service) =>
        service.reencryptAll({ batchSize: 3, onProgress: (p) => Effect.sync(() => progress.push(p)) })
      ).pipe(withRing(ringK1K2))
      assert.deepStrictEqual(summary, { total: 7, alreadyCurrent: 0, reencrypted: 7 })
      assert.deepStrictEqual(progress.map((p) => p.reencrypted), [0, 3, 6, 7])
      assert.strictEqual(yield* countUnderKey("k1"), 0)
      assert.strictEqual(yield* countUnderKey("k2"), 7)
      assert.deepStrictEqual(
        yield* TenantDatabases.use((service) => service.keyUsage()).pipe(withRing(ringK1K2)),
        [{ keyId: "k2", databases: 7 }]
      )
      yield* revealAll(ringK2, databases) // readable with k1 retired
      // Nothing left to do: a second run skips every row.
      assert.deepStrictEqual(
        yield* TenantDatabases.use((service) => service.reencryptAll()).pipe(withRing(ringK1K2)),
        { total: 7, alreadyCurrent: 7, reencrypted: 0 }
      )
    }))

  it.effect("a re-encryption interrupted half way resumes where it stopped", () =>
    Effect.gen(function*() {
      yield* emptyTable
      const databases = yield* registerMany(ringK1, 6)
      const firstBatchDone = yield* Deferred.make<void>()
      const fiber = yield* TenantDatabases.use((service) =>
        service.reencryptAll({
          batchSize: 2,
          onProgress: (p) => p.reencrypted === 2 ? Deferred.succeed(firstBatchDone, undefined).pipe(Effect.andThen(Effect.never)) : Effect.void
        })
      ).pipe(withRing(ringK1K2), Effect.forkChild)
      yield* Deferred.await(firstBatchDone)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(yield* countUnderKey("k2"), 2)
      assert.strictEqual(yield* countUnderKey("k1"), 4)
      yield* revealAll(ringK1K2, databases) // half way, everything still reads
      const resumed = yield* TenantDatabases.use((service) => service.reencryptAll({ batchSize: 2 })).pipe(withRing(ringK1K2))
      assert.deepStrictEqual(resumed, { total: 6, alreadyCurrent: 2, reencrypted: 4 })
      assert.strictEqual(yield* countUnderKey("k1"), 0)
      yield* revealAll(ringK2, databases)
    }))

  it.effect("reencryptAll stops at a row that does not decrypt, naming it; earlier batches stay done", () =>
    Effect.gen(function*() {
      yield* emptyTable
      const databases = yield* registerMany(ringK1, 4)
      const ids = databases.map((d) => d.id).sort()
      const bad = ids[3]! // last in id order, so the first batch of 2 goes through
      const good = yield* storedEnvelope(bad)
      yield* storeEnvelope(bad, yield* storedEnvelope(ids[0]!))
      const run = TenantDatabases.use((service) => service.reencryptAll({ batchSize: 2 })).pipe(withRing(ringK1K2))
      const error = yield* Effect.flip(run)
      assert.strictEqual(error._tag, "DecryptionFailed")
      assert.deepInclude(error, { databaseId: bad })
      assert.strictEqual(yield* countUnderKey("k2"), 2)
      yield* storeEnvelope(bad, good)
      assert.deepStrictEqual(yield* run, { total: 4, alreadyCurrent: 2, reencrypted: 2 })
      yield* revealAll(ringK2, databases)
    }))

  it.effect("reencryptAll refuses a batch size out of range", () =>
    Effect.gen(function*() {
      const service = yield* TenantDatabases
      for (const batchSize of [0, -1, 1.5, 10_001]) {
        assert.strictEqual((yield* Effect.flip(service.reencryptAll({ batchSize })))._tag, "InvalidInput")
      }
    }).pipe(withRing(ringK1)))

  it.effect("no log line and no error shows a connection string or a key", () => {
    const capture = makeLogCapture()
    return Effect.gen(function*() {
      yield* emptyTable
      const service = yield* TenantDatabases
      const tenantId = yield* newTenant()
      const { password, text } = newConnectionString()
      const database = yield* service.register(registration(tenantId, "audited", text))
      const revealed = yield* service.reveal(database.id)
      yield* Effect.logInfo("connecting", revealed, database) // a caller logging what it was given
      const envelope = yield* storedEnvelope(database.id)
      const errors: Array<unknown> = []
      errors.push(yield* Effect.flip(service.register(registration(nodeCrypto.randomUUID(), "audited", text))))
      errors.push(yield* Effect.flip(service.register({ tenantId, connectionString: text as never, databaseName: "", host: "h" })))
      yield* storeEnvelope(database.id, envelope.slice(0, -6) + "AAAA==")
      errors.push(yield* Effect.flip(service.reveal(database.id)))
      errors.push(yield* Effect.flip(TenantDatabases.use((rotated) => rotated.reencryptAll()).pipe(withRing(ringK1K2))))
      for (const error of errors) yield* Effect.logError("failed", error)
      yield* storeEnvelope(database.id, envelope)
      yield* TenantDatabases.use((rotated) => rotated.reencryptAll()).pipe(withRing(ringK1K2))

      assert.isAbove(capture.lines.length, 8)
      assert.isTrue(capture.lines.some((line) => line.includes("Revealed a tenant database connection string")))
      const secrets = [text, password, base64Of(k1), base64Of(k2), envelope.slice(6)]
      assertNoSecrets(capture.lines, secrets)
      assertNoSecrets(errors.flatMap(renderings), secrets)
    }).pipe(withRing(ringK1), Effect.provide(capture.layer))
  })
})

// A database cannot be made to drop the connection on demand: a Db whose every
// query fails shows what callers get then.
it.effect("a database failure reaches the caller as DbError, without the connection string", () => {
  const failing = Layer.succeed(Db, Db.of({
    query: () => Effect.fail(new DbError({ reason: new ConnectionError() })),
    transaction: (effect) => effect
  }))
  return Effect.gen(function*() {
    const service = yield* TenantDatabases
    const { password, text } = newConnectionString()
    const id = nodeCrypto.randomUUID()
    const errors = [
      yield* Effect.flip(service.register(registration(nodeCrypto.randomUUID(), "down", text))),
      yield* Effect.flip(service.listForTenant(id)),
      yield* Effect.flip(service.get(id)),
      yield* Effect.flip(service.reveal(id)),
      yield* Effect.flip(service.setStatus(id, "error")),
      yield* Effect.flip(service.remove(id)),
      yield* Effect.flip(service.reencryptAll()),
      yield* Effect.flip(service.keyUsage())
    ]
    for (const error of errors) {
      assert.strictEqual(error._tag, "DbError")
      assert.strictEqual((error as DbError).reason._tag, "ConnectionError")
    }
    assertNoSecrets(errors.flatMap(renderings), [text, password, base64Of(k1)])
  }).pipe(withRing(ringK1), Effect.provide(failing), Effect.provide(testActor()))
})
