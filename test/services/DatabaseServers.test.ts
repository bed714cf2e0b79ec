/**
 * DatabaseServers against the real PostgreSQL: the registry of servers,
 * admin connection strings encrypted and bound to their row, drain, the
 * count of tenant databases placed on each, and bad input writing nothing.
 */
import * as nodeCrypto from "node:crypto"
import { assert, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Result } from "effect"
import { ConnectionStringCrypto } from "../../src/crypto/ConnectionStringCrypto.ts"
import { type EncryptionKey, KeyRing } from "../../src/crypto/KeyRing.ts"
import { Db, sql } from "../../src/db/Db.ts"
import { Actor } from "../../src/services/Actor.ts"
import { DatabaseServers } from "../../src/services/DatabaseServers.ts"
import { testDbLayer } from "../db/testDb.ts"
import { assertNoSecrets, makeLogCapture, renderings, withLogCapture } from "../crypto/leaks.ts"

const keyOf = (id: string): EncryptionKey => ({
  id: id as never,
  material: Redacted.make(new Uint8Array(nodeCrypto.randomBytes(32)))
})
const k1 = keyOf("k1")
const k2 = keyOf("k2")
const ring = (keys: ReadonlyArray<EncryptionKey>, primary: string) => Result.getOrThrow(KeyRing.make(keys, primary))

const withRing = (keyRing: KeyRing) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provide(
    effect,
    Layer.fresh(DatabaseServers.layerNoDeps).pipe(
      Layer.provide(Layer.succeed(ConnectionStringCrypto, ConnectionStringCrypto.fromKeyRing(keyRing))),
      Layer.provideMerge(Layer.orDie(Actor.layer("servers-test")))
    )
  )
const withK1 = withRing(ring([k1], "k1"))

/** A unique server name and an admin connection string with a password of its own. */
const newServer = () => {
  const password = `pw-${nodeCrypto.randomBytes(9).toString("hex")}`
  return {
    name: `pg-${nodeCrypto.randomBytes(4).toString("hex")}`,
    password,
    text: `postgres://admin:${password}@pg-1.internal:5432/postgres?sslmode=require`
  }
}

const serverInput = (server: ReturnType<typeof newServer>, maxDatabases = 10) => ({
  name: server.name,
  host: "pg-1.internal",
  adminConnectionString: Redacted.make(server.text),
  maxDatabases
})

const countServers = Db.use((db) =>
  db.query<{ n: bigint }>(sql`SELECT count(*) AS n FROM control_plane.database_servers`)
).pipe(Effect.map((rows) => Number(rows[0]!.n)))

const storedEnvelope = (id: string) =>
  Db.use((db) =>
    db.query<{ admin_connection_string_encrypted: string }>(
      sql`SELECT admin_connection_string_encrypted FROM control_plane.database_servers WHERE id = ${id}`
    )
  ).pipe(Effect.map((rows) => rows[0]!.admin_connection_string_encrypted))

it.layer(testDbLayer("database_servers"), { timeout: "120 seconds" })("DatabaseServers", (it) => {
  it.effect("add encrypts the admin connection string, defaults port 5432 and status open; revealAdmin gives it back", () =>
    Effect.gen(function*() {
      const servers = yield* DatabaseServers
      const server = newServer()
      const added = yield* servers.add(serverInput(server, 25))
      const { name, host, port, maxDatabases, status, databases, keyId } = added
      assert.deepStrictEqual(
        { name, host, port, maxDatabases, status, databases, keyId },
        { name: server.name, host: "pg-1.internal", port: 5432, maxDatabases: 25, status: "open", databases: 0, keyId: "k1" }
      )
      const stored = yield* storedEnvelope(added.id)
      assert.match(stored, /^v1:k1:[A-Za-z0-9+/]+=*$/)
      assertNoSecrets([stored, JSON.stringify(added), String(added)], [server.text, server.password])
      const revealed = yield* servers.revealAdmin(added.id)
      assert.strictEqual(String(revealed), "<redacted>")
      assert.strictEqual(Redacted.value(revealed), server.text)
      assert.strictEqual((yield* servers.findByName(server.name)).id, added.id)
      assert.strictEqual((yield* servers.get(added.id)).name, server.name)
      assert.isTrue((yield* servers.list()).some((listed) => listed.id === added.id))
    }).pipe(withK1))

  it.effect("a duplicate name is DatabaseServerNameTaken and writes nothing", () =>
    Effect.gen(function*() {
      const servers = yield* DatabaseServers
      const server = newServer()
      yield* servers.add(serverInput(server))
      const before = yield* countServers
      const error = yield* Effect.flip(servers.add(serverInput({ ...newServer(), name: server.name })))
      assert.strictEqual(error._tag, "DatabaseServerNameTaken")
      assert.strictEqual(error.message, `A database server named ${JSON.stringify(server.name)} already exists`)
      assert.strictEqual(yield* countServers, before)
    }).pipe(withK1))

  it.effect("bad input (name, host, port, limit, blank or plain connection string) is InvalidInput and writes nothing", () =>
    Effect.gen(function*() {
      const servers = yield* DatabaseServers
      const before = yield* countServers
      const good = serverInput(newServer())
      const bad = [
        { ...good, name: "has space" },
        { ...good, name: "x".repeat(64) },
        { ...good, host: "pg 1" },
        { ...good, port: 70000 },
        { ...good, maxDatabases: 0 },
        { ...good, maxDatabases: 1.5 },
        { ...good, adminConnectionString: Redacted.make("  ") },
        { ...good, adminConnectionString: good.adminConnectionString.toString() as never },
        // A string the driver would refuse when it is used: refused now.
        { ...good, adminConnectionString: Redacted.make("postgres://admin@pg-1.internal:5432/postgres?sslmode=bogus") }
      ]
      for (const input of bad) {
        const error = yield* Effect.flip(servers.add(input))
        assert.strictEqual(error._tag, "InvalidInput")
        assert.match(error.message, /^Invalid database server: /)
      }
      assert.strictEqual(yield* countServers, before)
    }).pipe(withK1))

  it.effect("unknown ids and names are DatabaseServerNotFound", () =>
    Effect.gen(function*() {
      const servers = yield* DatabaseServers
      const id = nodeCrypto.randomUUID()
      assert.deepInclude(yield* Effect.flip(servers.get(id)), { _tag: "DatabaseServerNotFound", server: id })
      assert.strictEqual((yield* Effect.flip(servers.findByName("no-such-server")))._tag, "DatabaseServerNotFound")
      assert.strictEqual((yield* Effect.flip(servers.findByName("not a valid name")))._tag, "DatabaseServerNotFound")
      assert.strictEqual((yield* Effect.flip(servers.setStatus(id, "drained")))._tag, "DatabaseServerNotFound")
      assert.strictEqual((yield* Effect.flip(servers.revealAdmin(id)))._tag, "DatabaseServerNotFound")
      assert.strictEqual((yield* Effect.flip(servers.get("not-a-uuid")))._tag, "InvalidInput")
    }).pipe(withK1))

  it.effect("setStatus drains a server and opens it again", () =>
    Effect.gen(function*() {
      const servers = yield* DatabaseServers
      const added = yield* servers.add(serverInput(newServer()))
      assert.strictEqual((yield* servers.setStatus(added.id, "drained")).status, "drained")
      assert.strictEqual((yield* servers.get(added.id)).status, "drained")
      assert.strictEqual((yield* servers.setStatus(added.id, "open")).status, "open")
      assert.strictEqual((yield* Effect.flip(servers.setStatus(added.id, "closed")))._tag, "InvalidInput")
    }).pipe(withK1))

  it.effect("counts the tenant databases placed on each server", () =>
    Effect.gen(function*() {
      const servers = yield* DatabaseServers
      const db = yield* Db
      const added = yield* servers.add(serverInput(newServer()))
      for (let i = 0; i < 3; i++) {
        const [tenant] = yield* db.query<{ tenant_id: string }>(
          sql`INSERT INTO control_plane.tenants (name, environment, status)
              VALUES (${`placed-${nodeCrypto.randomUUID()}`}, 'development', 'pending') RETURNING tenant_id`
        )
        yield* db.query(
          sql`INSERT INTO control_plane.tenant_provisioning (tenant_id, server_id, database_name, role_name, step)
              VALUES (${tenant!.tenant_id}, ${added.id}, ${`db_${i}`}, ${`role_${i}`}, 'place')`
        )
      }
      assert.strictEqual((yield* servers.get(added.id)).databases, 3)
      assert.strictEqual((yield* servers.list()).find((s) => s.id === added.id)?.databases, 3)
    }).pipe(withK1))

  it.effect("an admin connection string copied onto another server's row does not decrypt", () =>
    Effect.gen(function*() {
      const servers = yield* DatabaseServers
      const first = newServer()
      const a = yield* servers.add(serverInput(first))
      const b = yield* servers.add(serverInput(newServer()))
      yield* Db.use((db) =>
        db.query(sql`UPDATE control_plane.database_servers SET admin_connection_string_encrypted =
                       (SELECT admin_connection_string_encrypted FROM control_plane.database_servers WHERE id = ${a.id})
                     WHERE id = ${b.id}`)
      )
      const error = yield* Effect.flip(servers.revealAdmin(b.id))
      assert.deepInclude(error, { _tag: "DecryptionFailed", serverId: b.id })
      assertNoSecrets(renderings(error), [first.text, first.password])
      // A row that cannot decrypt would stop reencryptAll in the test below.
      yield* Db.use((db) => db.query(sql`DELETE FROM control_plane.database_servers WHERE id = ${b.id}`))
    }).pipe(withK1))

  it.effect("reencryptAll moves every admin connection string to the primary key; the old key can then go", () =>
    Effect.gen(function*() {
      const server = newServer()
      const added = yield* Effect.flatMap(DatabaseServers, (s) => s.add(serverInput(server))).pipe(withK1)
      const moved = yield* Effect.flatMap(DatabaseServers, (s) => s.reencryptAll()).pipe(withRing(ring([k1, k2], "k2")))
      assert.isAtLeast(moved, 1)
      assert.match(yield* storedEnvelope(added.id), /^v1:k2:/)
      const again = yield* Effect.flatMap(DatabaseServers, (s) => s.reencryptAll()).pipe(withRing(ring([k1, k2], "k2")))
      assert.strictEqual(again, 0)
      const revealed = yield* Effect.flatMap(DatabaseServers, (s) => s.revealAdmin(added.id)).pipe(withRing(ring([k2], "k2")))
      assert.strictEqual(Redacted.value(revealed), server.text)
    }))

  it.effect("logs ids, never the admin connection string", () =>
    Effect.gen(function*() {
      const capture = makeLogCapture()
      const server = newServer()
      yield* withLogCapture(capture, Effect.flatMap(DatabaseServers, (s) => s.add(serverInput(server))).pipe(withK1))
      assert.isAbove(capture.lines.length, 0)
      assertNoSecrets(capture.lines, [server.text, server.password])
    }))
})
