/**
 * The audit trail of the tables that operate tenant databases, against the
 * real PostgreSQL: database servers (added, drained, changed in psql,
 * re-encrypted, deleted; the admin connection string only as changed),
 * revealAdmin's reveal event, a fleet run's start and finish, the ledger and
 * provisioning rows left out, and the chain verifying over all of it; and
 * the fault suite's invariants replaying servers from the trail (in a fault
 * bed, a database of its own).
 */
import * as nodeCrypto from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { sql as pgSql } from "@databases/pg"
import { Effect, Layer, ManagedRuntime, Redacted, Result } from "effect"
import { expect } from "vitest"
import { ConnectionStringCrypto } from "../../src/crypto/ConnectionStringCrypto.ts"
import { type EncryptionKey, KeyRing } from "../../src/crypto/KeyRing.ts"
import { Db, sql } from "../../src/db/Db.ts"
import type { AuditEvent } from "../../src/domain/AuditEvent.ts"
import { Actor, actorContext } from "../../src/services/Actor.ts"
import { AuditTrail } from "../../src/services/AuditTrail.ts"
import { DatabaseServers } from "../../src/services/DatabaseServers.ts"
import { Tenants } from "../../src/services/Tenants.ts"
import { assertNoSecrets } from "../crypto/leaks.ts"
import { testDbLayer } from "../db/testDb.ts"
import { createFaultBed, servicesLayer } from "../faults/harness.ts"
import { checkInvariants } from "../faults/invariants.ts"

const keyOf = (id: string): EncryptionKey => ({ id: id as never, material: Redacted.make(new Uint8Array(nodeCrypto.randomBytes(32))) })
const k1 = keyOf("k1")
const k2 = keyOf("k2")
const cryptoWith = (keys: ReadonlyArray<EncryptionKey>, primary: string) =>
  Layer.succeed(ConnectionStringCrypto, ConnectionStringCrypto.fromKeyRing(Result.getOrThrow(KeyRing.make(keys, primary))))

/** DatabaseServers over the test database, with `primary` as the primary key (both keys in the ring). */
const serversUnder = (primary: "k1" | "k2") => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provide(effect, Layer.fresh(DatabaseServers.layerNoDeps).pipe(Layer.provide(cryptoWith([k1, k2], primary))))

const TestLayer = Layer.mergeAll(Tenants.layerNoDeps, AuditTrail.layerNoDeps).pipe(
  Layer.provideMerge(testDbLayer("audit_servers"))
)

const as = (name: string, reason?: string) =>
  Effect.provideService(Actor, Actor.of(reason === undefined ? { name } : { name, reason }))

/** The events about one entity, oldest first. */
const eventsAbout = (entityType: "database_server" | "fleet_run", entityId: string) =>
  AuditTrail.use((trail) => trail.list({ entityType, limit: 1000 })).pipe(
    Effect.map((page) => page.events.filter((event) => event.entityId === entityId))
  )

const summary = (events: ReadonlyArray<AuditEvent>) =>
  events.map((e) => [e.actor, e.action, e.entityType, e.tenantId, e.reason, e.changes])

const psql = (statement: ReturnType<typeof sql>) => Db.use((db) => db.query(statement))

const headId = Db.use((db) => db.query<{ id: bigint | null }>(sql`SELECT max(id) AS id FROM control_plane.audit_events`)).pipe(
  Effect.map((rows) => Number(rows[0]?.id ?? 0))
)

it.layer(TestLayer, { timeout: "120 seconds" })("AuditTrail of servers and fleet runs", (it) => {
  describe("database servers", () => {
    it.effect("add, drain, a psql change, re-encryption and removal are recorded; the admin connection string only as changed", () =>
      Effect.gen(function*() {
        const password = `pw-${nodeCrypto.randomBytes(9).toString("hex")}`
        const plaintext = `postgres://admin:${password}@pg-audit.internal:5432/postgres`
        const name = `pg-${nodeCrypto.randomBytes(4).toString("hex")}`
        const server = yield* DatabaseServers.use((s) =>
          s.add({ name, host: "pg-audit.internal", adminConnectionString: Redacted.make(plaintext), maxDatabases: 10 })
        ).pipe(serversUnder("k1"), as("alice", "new region"))
        yield* DatabaseServers.use((s) => s.setStatus(server.id, "drained")).pipe(serversUnder("k1"), as("bob"))
        yield* DatabaseServers.use((s) => s.setStatus(server.id, "drained")).pipe(serversUnder("k1"), as("bob")) // no change, no event
        // By hand, without an actor: the role acts.
        yield* psql(sql`UPDATE control_plane.database_servers SET max_databases = 20, updated_at = now() WHERE id = ${server.id}`)
        const rotated = yield* DatabaseServers.use((s) => s.reencryptAll()).pipe(serversUnder("k2"), as("carol"))
        assert.isAtLeast(rotated, 1)
        const envelope = (yield* Db.use((db) =>
          db.query<{ e: string }>(sql`SELECT admin_connection_string_encrypted AS e FROM control_plane.database_servers WHERE id = ${server.id}`)
        ))[0]!.e
        yield* psql(sql`DELETE FROM control_plane.database_servers WHERE id = ${server.id}`)

        const events = yield* eventsAbout("database_server", server.id)
        assert.deepStrictEqual(summary(events), [
          ["alice", "create", "database_server", null, "new region", {
            name: { new: name },
            host: { new: "pg-audit.internal" },
            port: { new: 5432 },
            max_databases: { new: 10 },
            status: { new: "open" },
            admin_connection_string: { changed: true },
            key_id: { new: "k1" }
          }],
          ["bob", "update", "database_server", null, null, { status: { old: "open", new: "drained" } }],
          ["postgres", "update", "database_server", null, null, { max_databases: { old: 10, new: 20 } }],
          ["carol", "update", "database_server", null, null, {
            admin_connection_string: { changed: true },
            key_id: { old: "k1", new: "k2" }
          }],
          ["postgres", "delete", "database_server", null, null, {
            name: { old: name },
            host: { old: "pg-audit.internal" },
            port: { old: 5432 },
            max_databases: { old: 20 },
            status: { old: "drained" },
            admin_connection_string: { changed: true },
            key_id: { old: "k2" }
          }]
        ])
        // Neither the plaintext, nor its password, nor the ciphertext, nor key material.
        const stored = yield* Db.use((db) => db.query<{ row: string }>(sql`SELECT to_jsonb(e)::text AS row FROM control_plane.audit_events e`))
        assertNoSecrets(
          [...stored.map((r) => r.row), JSON.stringify(events)],
          [plaintext, password, envelope.split(":")[2]!, ...[k1, k2].map((k) => Buffer.from(Redacted.value(k.material)).toString("base64"))]
        )
      }))

    it.effect("revealAdmin appends a reveal event before the plaintext is handed out; a failed one appends nothing", () =>
      Effect.gen(function*() {
        const plaintext = `postgres://admin:pw-${nodeCrypto.randomBytes(9).toString("hex")}@pg-reveal.internal:5432/postgres`
        const server = yield* DatabaseServers.use((s) =>
          s.add({ name: `pg-${nodeCrypto.randomBytes(4).toString("hex")}`, host: "pg-reveal.internal", adminConnectionString: Redacted.make(plaintext), maxDatabases: 5 })
        ).pipe(serversUnder("k1"), as("ops"))
        const revealed = yield* DatabaseServers.use((s) => s.revealAdmin(server.id)).pipe(serversUnder("k1"), as("dave", "provisioning tenant x"))
        assert.strictEqual(Redacted.value(revealed), plaintext)
        const events = yield* eventsAbout("database_server", server.id)
        assert.deepStrictEqual(summary(events).slice(1), [["dave", "reveal", "database_server", null, "provisioning tenant x", {}]])

        const head = yield* headId
        const missing = yield* Effect.flip(DatabaseServers.use((s) => s.revealAdmin(nodeCrypto.randomUUID())).pipe(serversUnder("k1"), as("dave")))
        assert.strictEqual(missing._tag, "DatabaseServerNotFound")
        assert.strictEqual(yield* headId, head)
      }))
  })

  describe("fleet runs", () => {
    it.effect("a run's start and finish are recorded; its ledger rows and provisioning rows are not", () =>
      Effect.gen(function*() {
        const actor = Actor.of({ name: "fleet-operator" })
        // The statements FleetMigrations sends (cli/src/fleet): start, one ledger row, finish.
        const [run] = yield* Db.use((db) =>
          db.query<{ id: string }>(sql`INSERT INTO control_plane.fleet_runs (status, target_version, concurrency, canary, max_failures)
            SELECT 'running', '20260101000000', 8, 1, NULL FROM ${actorContext(actor)} RETURNING fleet_runs.id`)
        )
        const tenant = yield* Tenants.use((t) => t.create({ name: `fleet-${nodeCrypto.randomUUID()}`, environment: "development" })).pipe(as("ops"))
        const server = yield* DatabaseServers.use((s) =>
          s.add({ name: `pg-${nodeCrypto.randomBytes(4).toString("hex")}`, host: "pg-fleet.internal", adminConnectionString: Redacted.make("postgres://admin:pw@pg-fleet.internal/postgres"), maxDatabases: 5 })
        ).pipe(serversUnder("k1"), as("ops"))
        const head = yield* headId
        // The statements Provisioning sends for its progress record.
        yield* Db.use((db) =>
          db.query(sql`INSERT INTO control_plane.tenant_provisioning (tenant_id, server_id, database_name, role_name, step)
            SELECT ${tenant.tenantId}::uuid, ${server.id}::uuid, 'db_fleet', 'role_fleet', 'place' FROM ${actorContext(actor)}`)
        )
        yield* Db.use((db) =>
          db.query(sql`UPDATE control_plane.tenant_provisioning SET step = 'register', updated_at = now()
            FROM ${actorContext(actor)} WHERE tenant_id = ${tenant.tenantId}`)
        )
        yield* Db.use((db) =>
          db.query(sql`INSERT INTO control_plane.fleet_migrations (run_id, database_id, tenant_id, position, canary, status)
            SELECT ${run!.id}::uuid, gen_random_uuid(), ${tenant.tenantId}::uuid, 0, true, 'pending' FROM ${actorContext(actor)}`)
        )
        yield* Db.use((db) =>
          db.query(sql`UPDATE control_plane.fleet_migrations SET status = 'succeeded', finished_at = now()
            FROM ${actorContext(actor)} WHERE run_id = ${run!.id}`)
        )
        assert.strictEqual(yield* headId, head, "the ledger and the provisioning record are not audited")
        yield* Db.use((db) =>
          db.query(sql`UPDATE control_plane.fleet_runs SET status = 'succeeded', finished_at = now()
            FROM ${actorContext(actor)} WHERE id = ${run!.id}`)
        )
        const events = yield* eventsAbout("fleet_run", run!.id)
        assert.deepStrictEqual(events.map((e) => [e.actor, e.action, Object.keys(e.changes).sort()]), [
          ["fleet-operator", "create", ["canary", "concurrency", "finished_at", "max_failures", "started_at", "status", "target_version"]],
          ["fleet-operator", "update", ["finished_at", "status"]]
        ])
        assert.deepStrictEqual(events[0]!.changes["status"], { new: "running" })
        assert.deepStrictEqual(events[1]!.changes["status"], { old: "running", new: "succeeded" })
        assert.strictEqual((events[1]!.changes["finished_at"] as { old: unknown }).old, null)
      }))
  })

  it.effect("the chain verifies over all of it", () =>
    Effect.gen(function*() {
      const report = yield* AuditTrail.use((trail) => trail.verify())
      assert.strictEqual(report.events, yield* headId)
      assert.isAtLeast(report.events, 10)
    }))
})

describe("the fault suite's invariants", () => {
  it("replay database servers from the trail: a server changed without its event is caught", async () => {
    const bed = await createFaultBed("audit_invariants_servers")
    const runtime = ManagedRuntime.make(DatabaseServers.layerNoDeps.pipe(Layer.provideMerge(servicesLayer(bed))))
    try {
      const server = await runtime.runPromise(DatabaseServers.use((s) =>
        s.add({ name: "pg-replayed", host: "pg-replayed.internal", adminConnectionString: Redacted.make("postgres://admin:pw@pg-replayed.internal/postgres"), maxDatabases: 3 })
      ))
      await runtime.runPromise(DatabaseServers.use((s) => s.setStatus(server.id, "drained")))
      await checkInvariants(bed)
      await bed.pool.tx(async (tx) => {
        await tx.query(pgSql`ALTER TABLE control_plane.database_servers DISABLE TRIGGER audit_database_servers`)
        await tx.query(pgSql`UPDATE control_plane.database_servers SET max_databases = 30 WHERE id = ${server.id}`)
        await tx.query(pgSql`ALTER TABLE control_plane.database_servers ENABLE TRIGGER audit_database_servers`)
      })
      await expect(checkInvariants(bed)).rejects.toThrow(/database_servers differ from the replayed audit trail/)
    } finally {
      await runtime.dispose()
      await bed.close()
    }
  }, 60_000)
})
