/**
 * The audit trail against the real PostgreSQL: what each service write
 * records (actor, reason, old and new values, nothing secret), verification
 * of the hash chain (and what it finds after tampering with the guard
 * disabled), listing, and the retention purge. The tests of this file run one
 * after another: some break the chain on purpose and mend it before the next.
 */
import * as nodeCrypto from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Result, Schema } from "effect"
import { ConnectionStringCrypto } from "../../src/crypto/ConnectionStringCrypto.ts"
import { type EncryptionKey, KeyRing } from "../../src/crypto/KeyRing.ts"
import { Db, sql } from "../../src/db/Db.ts"
import type { SQLQuery } from "../../src/db/Db.ts"
import type { AuditChainBroken } from "../../src/domain/AuditEvent.ts"
import type { DbError } from "../../src/domain/errors.ts"
import { Actor } from "../../src/services/Actor.ts"
import { AuditTrail } from "../../src/services/AuditTrail.ts"
import { canonicalTextsSql, type CanonicalTexts, eventHash } from "../../src/services/auditChain.ts"
import { SystemConfig } from "../../src/services/SystemConfig.ts"
import { TenantDatabases } from "../../src/services/TenantDatabases.ts"
import { Tenants } from "../../src/services/Tenants.ts"
import { testDbLayer } from "../db/testDb.ts"

const keyOf = (id: string): EncryptionKey => ({ id: id as never, material: Redacted.make(new Uint8Array(nodeCrypto.randomBytes(32))) })
const k1 = keyOf("k1")
const k2 = keyOf("k2")
const cryptoWith = (keys: ReadonlyArray<EncryptionKey>, primary: string) =>
  Layer.succeed(ConnectionStringCrypto, ConnectionStringCrypto.fromKeyRing(Result.getOrThrow(KeyRing.make(keys, primary))))

const TestLayer = Layer.mergeAll(
  Tenants.layerNoDeps,
  SystemConfig.layerNoDeps,
  AuditTrail.layerNoDeps,
  TenantDatabases.layerNoDeps.pipe(Layer.provide(cryptoWith([k1], "k1")))
).pipe(Layer.provideMerge(testDbLayer("audit_trail")))

const as = (name: string, reason?: string) =>
  Effect.provideService(Actor, Actor.of(reason === undefined ? { name } : { name, reason }))

const uniqueName = (label: string) => `audit-${label}-${nodeCrypto.randomUUID()}`

/** Runs `statement` with the append-only guard disabled, as a superuser (or the owner) could. */
const tamper = (statement: SQLQuery) =>
  Db.use((db) =>
    db.transaction(Effect.gen(function*() {
      yield* db.query(sql`ALTER TABLE control_plane.audit_events DISABLE TRIGGER audit_events_guard`)
      yield* db.query(statement)
      yield* db.query(sql`ALTER TABLE control_plane.audit_events ENABLE TRIGGER audit_events_guard`)
    }))
  )

const headId = Db.use((db) => db.query<{ id: bigint | null }>(sql`SELECT max(id) AS id FROM control_plane.audit_events`)).pipe(
  Effect.map((rows) => Number(rows[0]?.id ?? 0))
)

/** The AuditChainBroken that verify failed with (a DbError fails the test). */
const chainBroken = (error: AuditChainBroken | DbError) =>
  error._tag === "AuditChainBroken" ? Effect.succeed(error) : Effect.die(error)

const eventsOf = (tenantId: string) =>
  AuditTrail.use((trail) => trail.list({ tenantId })).pipe(Effect.map((page) => page.events))

it.layer(TestLayer, { timeout: "120 seconds" })("AuditTrail", (it) => {
  describe("what the services record", () => {
    it.effect("each tenant write is one event with its actor, reason and changed fields", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const name = uniqueName("lifecycle")
        const tenant = yield* tenants.create({ name, environment: "staging" }).pipe(as("alice", "ticket 7"))
        yield* tenants.rename(tenant.tenantId, `${name}-renamed`).pipe(as("bob"))
        yield* tenants.setStatus(tenant.tenantId, "inactive").pipe(as("bob"))
        yield* tenants.setStatus(tenant.tenantId, "inactive").pipe(as("bob")) // no change, no event
        yield* tenants.delete(tenant.tenantId).pipe(as("carol", "offboarding"))
        const events = yield* eventsOf(tenant.tenantId)
        assert.deepStrictEqual(
          events.map((e) => [e.actor, e.dbRole, e.action, e.entityType, e.entityId, e.reason, e.changes]),
          [
            ["alice", "postgres", "create", "tenant", tenant.tenantId, "ticket 7", { name: { new: name }, environment: { new: "staging" }, status: { new: "pending" } }],
            ["bob", "postgres", "update", "tenant", tenant.tenantId, null, { name: { old: name, new: `${name}-renamed` } }],
            ["bob", "postgres", "update", "tenant", tenant.tenantId, null, { status: { old: "pending", new: "inactive" } }],
            ["carol", "postgres", "delete", "tenant", tenant.tenantId, "offboarding", {
              name: { old: `${name}-renamed` },
              environment: { old: "staging" },
              status: { old: "inactive" }
            }]
          ]
        )
        assert.isTrue(events.every((e, i) => i === 0 || e.id > events[i - 1]!.id))
      }))

    it.effect("a write that fails records nothing", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const name = uniqueName("taken")
        yield* tenants.create({ name, environment: "development" }).pipe(as("alice"))
        const head = yield* headId
        assert.strictEqual((yield* Effect.flip(tenants.create({ name, environment: "development" }).pipe(as("alice"))))._tag, "TenantNameTaken")
        assert.strictEqual((yield* Effect.flip(tenants.setStatus(nodeCrypto.randomUUID(), "active").pipe(as("alice"))))._tag, "TenantNotFound")
        assert.strictEqual((yield* Effect.flip(tenants.create({ name: " x", environment: "development" }).pipe(as("alice"))))._tag, "InvalidInput")
        assert.strictEqual(yield* headId, head)
      }))

    it.effect("databases: register, reveal, status, removal and a key rotation are recorded, with no secret in the trail", () =>
      Effect.gen(function*() {
        const tenant = yield* Tenants.use((t) => t.create({ name: uniqueName("databases"), environment: "production" })).pipe(as("ops"))
        const password = `pw-${nodeCrypto.randomBytes(9).toString("hex")}`
        const plaintext = `postgres://app:${password}@db-3.internal:5432/app`
        const registry = yield* TenantDatabases
        const database = yield* registry.register({
          tenantId: tenant.tenantId,
          connectionString: Redacted.make(plaintext),
          databaseName: "app",
          host: "db-3.internal"
        }).pipe(as("ops"))
        const revealed = yield* registry.reveal(database.id).pipe(as("dba", "incident 42"))
        assert.strictEqual(Redacted.value(revealed), plaintext)
        yield* registry.setStatus(database.id, "active").pipe(as("ops"))
        const rotated = yield* TenantDatabases.use((r) => r.reencryptAll()).pipe(
          as("keys-job"),
          Effect.provide(Layer.fresh(TenantDatabases.layerNoDeps).pipe(Layer.provide(cryptoWith([k1, k2], "k2"))))
        )
        assert.isAtLeast(rotated.reencrypted, 1)
        const [row] = yield* Db.use((db) =>
          db.query<{ connection_string_encrypted: string }>(
            sql`SELECT connection_string_encrypted FROM control_plane.tenant_databases WHERE id = ${database.id}`
          )
        )
        yield* registry.remove(database.id).pipe(
          as("ops"),
          Effect.provide(Layer.fresh(TenantDatabases.layerNoDeps).pipe(Layer.provide(cryptoWith([k1, k2], "k2"))))
        )
        const events = (yield* eventsOf(tenant.tenantId)).filter((e) => e.entityType === "tenant_database")
        assert.deepStrictEqual(events.map((e) => [e.actor, e.action, e.reason]), [
          ["ops", "create", null],
          ["dba", "reveal", "incident 42"],
          ["ops", "update", null],
          ["keys-job", "update", null],
          ["ops", "delete", null]
        ])
        assert.deepStrictEqual(events[0]!.changes["connection_string"], { changed: true })
        assert.deepStrictEqual(events[0]!.changes["key_id"], { new: "k1" })
        assert.deepStrictEqual(events[2]!.changes, { status: { old: "inactive", new: "active" } })
        assert.deepStrictEqual(events[3]!.changes, { connection_string: { changed: true }, key_id: { old: "k1", new: "k2" } })
        const rotations = yield* AuditTrail.use((t) => t.list({ action: "rotate" }))
        const run = rotations.events.at(-1)!
        assert.strictEqual(run.actor, "keys-job")
        assert.deepStrictEqual([run.entityType, run.entityId], ["key_ring", "k2"])
        assert.strictEqual(run.changes["reencrypted"], rotated.reencrypted)
        // Nothing secret anywhere in the trail: plaintext, password, ciphertext payloads, key material.
        const [all] = yield* Db.use((db) => db.query<{ text: string }>(sql`SELECT string_agg(t::text, ' ') AS text FROM control_plane.audit_events t`))
        const secrets = [plaintext, password, row!.connection_string_encrypted.split(":")[2]!, ...[k1, k2].map((k) => Buffer.from(Redacted.value(k.material)).toString("base64"))]
        secrets.forEach((secret, i) => assert.isFalse(all!.text.includes(secret), `the trail holds secret #${i}`))
      }))

    it.effect("configuration: old and new values of set and delete", () =>
      Effect.gen(function*() {
        const config = yield* SystemConfig
        const key = uniqueName("config")
        const Limits = Schema.Struct({ tenants: Schema.Int })
        yield* config.set(key, Limits, { tenants: 10 }).pipe(as("alice"))
        yield* config.set(key, Limits, { tenants: 20 }).pipe(as("bob"))
        yield* config.delete(key).pipe(as("carol"))
        const page = yield* AuditTrail.use((t) => t.list({ entityType: "system_config", limit: 1000 }))
        const mine = page.events.filter((e) => e.entityId === key)
        assert.deepStrictEqual(mine.map((e) => [e.actor, e.action, e.changes]), [
          ["alice", "create", { value: { new: { tenants: 10 } } }],
          ["bob", "update", { value: { old: { tenants: 10 }, new: { tenants: 20 } } }],
          ["carol", "delete", { value: { old: { tenants: 20 } } }]
        ])
      }))
  })

  describe("verify", () => {
    it.effect("passes, and every stored hash is what TypeScript computes from the event's texts", () =>
      Effect.gen(function*() {
        const report = yield* AuditTrail.use((t) => t.verify())
        assert.isAbove(report.events, 10)
        assert.strictEqual(report.firstId, 1)
        const rows = yield* Db.use((db) =>
          db.query<CanonicalTexts & { prev_hash: Buffer; hash: Buffer }>(
            sql`SELECT ${canonicalTextsSql}, prev_hash, hash FROM control_plane.audit_events e ORDER BY e.id`
          )
        )
        assert.strictEqual(rows.length, report.events)
        for (const [i, row] of rows.entries()) {
          assert.isTrue(Buffer.from(eventHash(row.prev_hash, row)).equals(row.hash), `event #${row.id}'s hash`)
          if (i > 0) assert.isTrue(row.prev_hash.equals(rows[i - 1]!.hash), `event #${row.id}'s link`)
        }
        assert.strictEqual(report.headHash, rows.at(-1)!.hash.toString("hex"))
      }))

    it.effect("names an event whose content was edited with the guard disabled, until it is put back", () =>
      Effect.gen(function*() {
        const target = (yield* headId) - 2
        const [original] = yield* Db.use((db) =>
          db.query<{ actor: string }>(sql`SELECT actor FROM control_plane.audit_events WHERE id = ${target}`)
        )
        yield* tamper(sql`UPDATE control_plane.audit_events SET actor = 'mallory' WHERE id = ${target}`)
        const broken = yield* AuditTrail.use((t) => t.verify()).pipe(Effect.flip, Effect.flatMap(chainBroken))
        assert.deepStrictEqual([broken._tag, broken.eventId, broken.problem], ["AuditChainBroken", target, "altered"])
        assert.strictEqual(broken.message, `Audit event #${target} was altered: its content no longer matches its hash`)
        yield* tamper(sql`UPDATE control_plane.audit_events SET actor = ${original!.actor} WHERE id = ${target}`)
        yield* AuditTrail.use((t) => t.verify())
      }))

    it.effect("an edited event whose hash was recomputed too breaks the link of the next one, which names both", () =>
      Effect.gen(function*() {
        const target = (yield* headId) - 3
        const saved = yield* Db.use((db) =>
          db.query<{ actor: string; hash: Buffer }>(sql`SELECT actor, hash FROM control_plane.audit_events WHERE id = ${target}`)
        )
        yield* tamper(sql`UPDATE control_plane.audit_events SET actor = 'mallory' WHERE id = ${target}`)
        const [texts] = yield* Db.use((db) =>
          db.query<CanonicalTexts & { prev_hash: Buffer }>(
            sql`SELECT ${canonicalTextsSql}, prev_hash FROM control_plane.audit_events WHERE id = ${target}`
          )
        )
        const forged = Buffer.from(eventHash(texts!.prev_hash, texts!))
        yield* tamper(sql`UPDATE control_plane.audit_events SET hash = ${forged} WHERE id = ${target}`)
        const broken = yield* AuditTrail.use((t) => t.verify()).pipe(Effect.flip, Effect.flatMap(chainBroken))
        assert.deepStrictEqual([broken.eventId, broken.problem, broken.previousId], [target + 1, "unlinked", target])
        assert.match(broken.message, new RegExp(`#${target} was altered or replaced`))
        yield* tamper(
          sql`UPDATE control_plane.audit_events SET actor = ${saved[0]!.actor}, hash = ${saved[0]!.hash} WHERE id = ${target}`
        )
        yield* AuditTrail.use((t) => t.verify())
      }))

    it.effect("an event deleted around the guard leaves a gap that verify names", () =>
      Effect.gen(function*() {
        const target = (yield* headId) - 1
        // Kept aside whole (a JS Date would lose the microseconds the hash covers).
        yield* Db.use((db) => db.query(sql`CREATE TABLE public.kept_event AS SELECT * FROM control_plane.audit_events WHERE id = ${target}`))
        yield* tamper(sql`DELETE FROM control_plane.audit_events WHERE id = ${target}`)
        const broken = yield* AuditTrail.use((t) => t.verify()).pipe(Effect.flip, Effect.flatMap(chainBroken))
        assert.deepStrictEqual([broken.eventId, broken.problem, broken.previousId], [target + 1, "missing", target - 1])
        assert.strictEqual(broken.message, `Audit event #${target + 1} follows #${target - 1}: event #${target} is missing`)
        // Put it back as it was, the chaining trigger off too (it would renumber and re-hash it).
        yield* Db.use((db) =>
          db.transaction(Effect.gen(function*() {
            yield* db.query(sql`ALTER TABLE control_plane.audit_events DISABLE TRIGGER audit_events_append`)
            yield* db.query(sql`INSERT INTO control_plane.audit_events SELECT * FROM public.kept_event`)
            yield* db.query(sql`ALTER TABLE control_plane.audit_events ENABLE TRIGGER audit_events_append`)
            yield* db.query(sql`DROP TABLE public.kept_event`)
          }))
        )
        yield* AuditTrail.use((t) => t.verify())
      }))
  })

  describe("list", () => {
    it.effect("filters by tenant, time, entity and action, and pages by id", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const tenant = yield* tenants.create({ name: uniqueName("paged"), environment: "development" }).pipe(as("pager"))
        for (const environment of ["staging", "production", "development", "staging"]) {
          // A few milliseconds apart: `since` is a JS Date, which keeps only milliseconds.
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 3)))
          yield* tenants.setEnvironment(tenant.tenantId, environment).pipe(as("pager"))
        }
        const trail = yield* AuditTrail
        const first = yield* trail.list({ tenantId: tenant.tenantId, limit: 2 })
        assert.strictEqual(first.events.length, 2)
        assert.isNotNull(first.nextCursor)
        const second = yield* trail.list({ tenantId: tenant.tenantId, limit: 2, after: first.nextCursor! })
        const third = yield* trail.list({ tenantId: tenant.tenantId, limit: 2, after: second.nextCursor! })
        assert.deepStrictEqual([...first.events, ...second.events, ...third.events].map((e) => e.action), ["create", "update", "update", "update", "update"])
        assert.isNull(third.nextCursor)
        const updates = yield* trail.list({ tenantId: tenant.tenantId, action: "update", entityType: "tenant" })
        assert.strictEqual(updates.events.length, 4)
        const since = yield* trail.list({ tenantId: tenant.tenantId, since: updates.events[2]!.occurredAt })
        assert.deepStrictEqual(since.events.map((e) => e.id), updates.events.slice(2).map((e) => e.id))
        const future = yield* trail.list({ since: new Date(Date.now() + 3_600_000) })
        assert.deepStrictEqual(future, { events: [], nextCursor: null })
      }))

    it.effect("bad options are InvalidInput saying what is wrong", () =>
      Effect.gen(function*() {
        const trail = yield* AuditTrail
        const cases: ReadonlyArray<[unknown, RegExp]> = [
          [{ after: "abc" }, /`after` is not a cursor given by list/],
          [{ limit: 0 }, /Invalid audit list options/],
          [{ tenantId: "acme" }, /Invalid audit list options/],
          [{ since: new Date(Number.NaN) }, /Invalid audit list options/],
          [{ since: new Date(-70_000_000_000_000) }, /between the years 1 and 9999/],
          [{ action: "drop" }, /Invalid audit list options/]
        ]
        for (const [input, message] of cases) {
          const error = yield* Effect.flip(trail.list(input as never))
          assert.strictEqual(error._tag, "InvalidInput")
          assert.match(error.message, message)
        }
      }))
  })

  describe("purge", () => {
    it.effect("deletes the events before the cut behind a checkpoint recorded with the actor; the chain still verifies", () =>
      Effect.gen(function*() {
        const trail = yield* AuditTrail
        const before = yield* trail.verify()
        const nothing = yield* trail.purge({ olderThanDays: 30 }).pipe(as("retention-job"))
        assert.deepStrictEqual([nothing.purged, nothing.firstKeptId], [0, 1])
        const report = yield* trail.purge({ olderThanDays: 0, reason: "retention test" }).pipe(as("retention-job"))
        assert.strictEqual(report.purged, before.events + 1) // every event before it, the first purge's included
        assert.strictEqual(report.firstKeptId, report.checkpoint.id)
        assert.deepStrictEqual(
          [report.checkpoint.actor, report.checkpoint.action, report.checkpoint.entityType, report.checkpoint.reason],
          ["retention-job", "purge", "audit_trail", "retention test"]
        )
        assert.strictEqual(report.checkpoint.changes["anchor_hash"], report.checkpoint.prevHash)
        const after = yield* trail.verify()
        assert.deepStrictEqual([after.events, after.firstId], [1, report.checkpoint.id])
        // Appending goes on from there, and a later purge keeps the chain verifiable.
        yield* Tenants.use((t) => t.create({ name: uniqueName("after-purge"), environment: "development" })).pipe(as("alice"))
        const again = yield* trail.purge({ olderThanDays: 0 }).pipe(as("retention-job"))
        assert.strictEqual(again.purged, 2)
        const final = yield* trail.verify()
        assert.deepStrictEqual([final.events, final.firstId, final.lastId], [1, again.checkpoint.id, again.checkpoint.id])
      }))

    it.effect("is the only way past the guard: a plain DELETE of what remains is still refused", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Db.use((db) => db.query(sql`DELETE FROM control_plane.audit_events`)))
        assert.deepStrictEqual([error.reason._tag, (error.reason as { code?: string }).code], ["Unknown", "CPA01"])
      }))

    it.effect("refuses a broken chain (a purge must not hide tampering) and deletes nothing", () =>
      Effect.gen(function*() {
        yield* Tenants.use((t) => t.create({ name: uniqueName("before-tamper"), environment: "development" })).pipe(as("alice"))
        const target = yield* headId
        yield* tamper(sql`UPDATE control_plane.audit_events SET reason = 'forged' WHERE id = ${target}`)
        const error = yield* Effect.flip(AuditTrail.use((t) => t.purge({ olderThanDays: 0 })).pipe(as("retention-job")))
        assert.deepStrictEqual([error._tag, (error as { eventId?: number }).eventId], ["AuditChainBroken", target])
        assert.strictEqual(yield* headId, target)
        yield* tamper(sql`UPDATE control_plane.audit_events SET reason = NULL WHERE id = ${target}`)
        yield* AuditTrail.use((t) => t.verify())
      }))

    it.effect("bad input is InvalidInput", () =>
      Effect.gen(function*() {
        for (const input of [{ olderThanDays: -1 }, { olderThanDays: 1.5 }, { olderThanDays: 40_000 }, { olderThanDays: 1, reason: "" }, {}]) {
          const error = yield* Effect.flip(AuditTrail.use((t) => t.purge(input as never)).pipe(as("retention-job")))
          assert.strictEqual(error._tag, "InvalidInput")
        }
      }))
  })

  it.effect("concurrent writers append one after another: ids without gaps, a chain that verifies", () =>
    Effect.gen(function*() {
      const head = yield* headId
      const tenants = yield* Tenants
      yield* Effect.forEach(
        Array.from({ length: 24 }, (_, i) => i),
        (i) => tenants.create({ name: uniqueName(`concurrent-${i}`), environment: "development" }).pipe(as(`writer-${i % 4}`)),
        { concurrency: 8, discard: true }
      )
      const report = yield* AuditTrail.use((t) => t.verify())
      assert.strictEqual(report.lastId, head + 24)
    }))
})
