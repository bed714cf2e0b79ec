/**
 * Provisioning against the real PostgreSQL (the local server registered as a
 * database server): a tenant from nothing to active in one call, idempotent,
 * isolated from other tenants, placed on the least-loaded open server, and
 * removed again by deprovisioning; bad input writes nothing.
 */
import { execFile } from "node:child_process"
import { assert, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { DatabaseServers } from "../../src/services/DatabaseServers.ts"
import { TenantDatabases } from "../../src/services/TenantDatabases.ts"
import { Tenants } from "../../src/services/Tenants.ts"
import { sql } from "../../src/db/Db.ts"
import { Provisioning } from "../../cli/src/fleet/Provisioning.ts"
import { startFaultyProxy } from "../support/faultyProxy.ts"
import { adminUrl, createTestDatabase, withConnection } from "../support/testDatabase.ts"
import { addLocalServer, controlPlaneRows, databasesAndRolesNamed, Fixture, provisioningLayer, tenantName } from "./support.ts"

/** Registers the local server under a unique name. */
const addUniqueServer = (label: string, maxDatabases = 100) => addLocalServer(tenantName(label), maxDatabases)

/** Drains every server but `keep`, so that automatic placement has one choice. */
const drainAllBut = (keep: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const servers = yield* DatabaseServers
    for (const server of yield* servers.list()) {
      if (!keep.includes(server.id) && server.status === "open") yield* servers.setStatus(server.id, "drained")
    }
  })

/**
 * Connects as the role of connection string `url`, to its database or to
 * `database` (another tenant's, in the isolation test), with psql: it fails
 * at once where the driver would retry a refused login for two seconds.
 * The URL's parts travel in psql's environment, never on its command line.
 */
const connectAs = (url: Redacted.Redacted<string>, database?: string) =>
  Effect.promise(() => {
    const target = new URL(Redacted.value(url))
    const env = {
      ...process.env,
      PGHOST: target.hostname,
      PGPORT: target.port,
      PGUSER: decodeURIComponent(target.username),
      PGPASSWORD: decodeURIComponent(target.password),
      PGDATABASE: database ?? decodeURIComponent(target.pathname.slice(1)),
      PGCONNECT_TIMEOUT: "5"
    }
    const query = "SELECT current_user || ' ' || current_database() || ' ' || (SELECT count(*) FROM projects)"
    return new Promise<{ ok: true; row: { role: string; database: string; projects: number } } | { ok: false; error: string }>(
      (resolve) =>
        execFile("psql", ["-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", query], { env }, (error, stdout, stderr) => {
          if (error !== null) return resolve({ ok: false, error: stderr.includes("permission denied for database") ? "permission denied for database" : "other" })
          const [role = "", current = "", projects = ""] = stdout.trim().split(" ")
          resolve({ ok: true, row: { role, database: current, projects: Number(projects) } })
        })
    )
  })


/** The control plane's records of the tenant: the tenant, its databases and its provisioning record. */
const recordsOf = (controlPlaneUrl: string, tenantId: string) =>
  Effect.promise(() =>
    controlPlaneRows<{ n: number }>(
      controlPlaneUrl,
      sql`SELECT (SELECT count(*) FROM control_plane.tenants WHERE tenant_id = ${tenantId})
               + (SELECT count(*) FROM control_plane.tenant_databases WHERE tenant_id = ${tenantId})
               + (SELECT count(*) FROM control_plane.tenant_provisioning WHERE tenant_id = ${tenantId}) AS n`
    )
  ).pipe(Effect.map((rows) => Number(rows[0]!.n)))

it.layer(Fixture.layer("provisioning"), { timeout: "180 seconds" })("Provisioning", (it) => {
  it.layer(provisioningLayer)((it) => {
    it.effect("provisions a tenant to active in one call: role, database, migrations, seed, records", () =>
      Effect.gen(function*() {
        const { prefix, controlPlane } = yield* Fixture
        const server = yield* addUniqueServer("local")
        yield* drainAllBut([server.id])
        const provisioning = yield* Provisioning
        const steps: Array<string> = []
        const name = tenantName("acme")
        const result = yield* provisioning.provision(
          { name, environment: "production", namePrefix: prefix },
          { onStep: (event) => Effect.sync(() => steps.push(`${event.step}:${event.phase}`)) }
        )
        assert.strictEqual(result.tenant.status, "active")
        assert.strictEqual(result.database.status, "active")
        assert.strictEqual(result.server.id, server.id)
        assert.strictEqual(result.server.databases, 1)
        assert.isFalse(result.resumed)
        assert.deepStrictEqual(result.ran, ["register", "create_role_and_database", "migrate", "seed", "activate"])
        assert.strictEqual(steps.length, 14)
        assert.strictEqual(result.version, (yield* Effect.promise(() => import("node:fs").then((fs) => fs.readdirSync("tenant/migrations").filter((f) => f.endsWith(".sql")).sort().at(-1)!.split("_")[0]!))))
        const expectedName = `${prefix}${result.tenant.tenantId.replaceAll("-", "")}`
        assert.strictEqual(result.database.databaseName, expectedName)
        assert.isAtMost(Buffer.byteLength(expectedName), 63)
        const [record] = yield* Effect.promise(() =>
          controlPlaneRows<{ step: string; failed_step: string | null; attempts: number; completed: boolean; database_id: string }>(
            controlPlane.url,
            sql`SELECT step, failed_step, attempts, completed_at IS NOT NULL AS completed, database_id
                FROM control_plane.tenant_provisioning WHERE tenant_id = ${result.tenant.tenantId}`
          )
        )
        assert.deepStrictEqual(record, { step: "activate", failed_step: null, attempts: 1, completed: true, database_id: result.database.id })
        // The tenant's own role reaches its database, which the migrations and the seed filled.
        const url = yield* (yield* TenantDatabases).reveal(result.database.id)
        const connected = yield* connectAs(url)
        assert.deepStrictEqual(connected, { ok: true, row: { role: expectedName, database: expectedName, projects: 1 } })
        // CONNECT is revoked from PUBLIC: only the owner (and superusers) may connect.
        const [acl] = yield* Effect.promise(() =>
          withConnection(adminUrl(), (db) =>
            db.query(sql`SELECT has_database_privilege('pg_monitor', ${expectedName}, 'CONNECT') AS monitor,
                                pg_get_userbyid(datdba) AS owner
                         FROM pg_database WHERE datname = ${expectedName}`))
        )
        assert.deepStrictEqual(acl, { monitor: false, owner: expectedName })
      }))

    it.effect("a second call for a provisioned tenant runs nothing and changes nothing", () =>
      Effect.gen(function*() {
        const { prefix } = yield* Fixture
        const provisioning = yield* Provisioning
        const server = (yield* addUniqueServer("twice")).id
        const name = tenantName("twice")
        const first = yield* provisioning.provision({ name, environment: "staging", server, namePrefix: prefix })
        const second = yield* provisioning.provision({ name, environment: "staging", server, namePrefix: prefix })
        assert.deepStrictEqual(second.ran, [])
        assert.isTrue(second.resumed)
        assert.strictEqual(second.database.id, first.database.id)
        assert.strictEqual(second.tenant.status, "active")
        const url = yield* (yield* TenantDatabases).reveal(first.database.id)
        assert.isTrue((yield* connectAs(url)).ok)
      }))

    it.effect("a record set back to before register (as the foreign key's migration repairs one whose database record was gone) finishes on a re-run", () =>
      Effect.gen(function*() {
        const { prefix, controlPlane } = yield* Fixture
        const provisioning = yield* Provisioning
        const server = (yield* addUniqueServer("repaired")).id
        const name = tenantName("repaired")
        const first = yield* provisioning.provision({ name, environment: "staging", server, namePrefix: prefix })
        const verifierOf = (role: string) =>
          Effect.promise(() =>
            withConnection(adminUrl(), (db) => db.query(sql`SELECT rolpassword FROM pg_authid WHERE rolname = ${role}`))
          ).pipe(Effect.map((rows) => String(rows[0]?.rolpassword)))
        const verifierBefore = yield* verifierOf(first.database.databaseName)
        assert.match(verifierBefore, /^SCRAM-SHA-256\$/)
        // What migration 20261208022303 leaves for a record whose database record was removed.
        yield* Effect.promise(() =>
          withConnection(controlPlane.url, async (db) => {
            await db.query(sql`UPDATE control_plane.tenant_provisioning SET database_id = NULL, step = 'place', completed_at = NULL
                               WHERE tenant_id = ${first.tenant.tenantId}`)
            await db.query(sql`DELETE FROM control_plane.tenant_databases WHERE id = ${first.database.id}`)
          }))
        // Suspended meanwhile: the re-run registers its database and leaves it suspended, not resumed.
        yield* (yield* Tenants).setStatus(first.tenant.tenantId, "suspended")
        const again = yield* provisioning.provision({ name, environment: "staging", server, namePrefix: prefix })
        assert.deepStrictEqual(again.ran, ["register", "create_role_and_database", "migrate", "seed", "activate"])
        assert.notStrictEqual(again.database.id, first.database.id)
        assert.strictEqual(again.database.databaseName, first.database.databaseName)
        assert.strictEqual(again.database.status, "active")
        assert.strictEqual(again.tenant.status, "suspended")
        const newUrl = yield* (yield* TenantDatabases).reveal(again.database.id)
        assert.isTrue((yield* connectAs(newUrl)).ok)
        // The role's password is the new record's (this server trusts local logins, so it is read, not tried).
        assert.notStrictEqual(yield* verifierOf(first.database.databaseName), verifierBefore)
      }))

    it.effect("isolation: a tenant's role cannot connect to another tenant's database", () =>
      Effect.gen(function*() {
        const { prefix } = yield* Fixture
        const provisioning = yield* Provisioning
        const databases = yield* TenantDatabases
        const server = (yield* addUniqueServer("iso")).id
        const a = yield* provisioning.provision({ name: tenantName("iso-a"), environment: "development", server, namePrefix: prefix })
        const b = yield* provisioning.provision({ name: tenantName("iso-b"), environment: "development", server, namePrefix: prefix })
        const urlA = yield* databases.reveal(a.database.id)
        const urlB = yield* databases.reveal(b.database.id)
        assert.isTrue((yield* connectAs(urlA)).ok)
        assert.isTrue((yield* connectAs(urlB)).ok)
        // The server refuses the login (SQLSTATE 42501): CONNECT is the owner's alone.
        assert.deepStrictEqual(yield* connectAs(urlA, b.database.databaseName), { ok: false, error: "permission denied for database" })
        assert.deepStrictEqual(yield* connectAs(urlB, a.database.databaseName), { ok: false, error: "permission denied for database" })
        // Nor into anything else of the server's: a tenant role is not a superuser and owns nothing else.
        const [role] = yield* Effect.promise(() =>
          withConnection(adminUrl(), (db) =>
            db.query(sql`SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = ${a.database.databaseName}`))
        )
        assert.deepStrictEqual(role, { rolsuper: false, rolcreatedb: false, rolcreaterole: false })
      }))

    it.effect("deprovision drops the database and the role, then removes the records; a second call finds nothing", () =>
      Effect.gen(function*() {
        const { prefix, controlPlane } = yield* Fixture
        const provisioning = yield* Provisioning
        const server = (yield* addUniqueServer("gone")).id
        const provisioned = yield* provisioning.provision({ name: tenantName("gone"), environment: "development", server, namePrefix: prefix })
        const url = yield* (yield* TenantDatabases).reveal(provisioned.database.id)
        const removed = yield* provisioning.deprovision(provisioned.tenant.tenantId)
        assert.deepStrictEqual(removed, {
          tenantId: provisioned.tenant.tenantId,
          name: provisioned.tenant.name,
          server: provisioned.server.name,
          database: provisioned.database.databaseName,
          dropped: true
        })
        const onServer = yield* Effect.promise(() => databasesAndRolesNamed(removed.database))
        assert.deepStrictEqual(onServer, [{ databases: 0, roles: 0 }])
        assert.strictEqual(yield* recordsOf(controlPlane.url, removed.tenantId), 0)
        assert.isFalse((yield* connectAs(url)).ok)
        const again = yield* Effect.flip(provisioning.deprovision(provisioned.tenant.tenantId))
        assert.strictEqual(again._tag, "TenantNotFound")
      }))

    it.effect("a tenant on a server that is gone: deprovision stops and names --keep-database, which removes only the records", () =>
      Effect.gen(function*() {
        const { prefix, controlPlane } = yield* Fixture
        const provisioning = yield* Provisioning
        // The server is reached through a proxy (without TLS, which the proxy cannot carry); closing it takes the server away.
        const target = new URL(adminUrl())
        target.searchParams.set("sslmode", "disable")
        const proxy = yield* Effect.acquireRelease(Effect.promise(() => startFaultyProxy(target.toString())), (p) => Effect.promise(() => p.close()))
        const server = yield* (yield* DatabaseServers).add({
          name: tenantName("vanishing"),
          host: "127.0.0.1",
          port: proxy.port,
          adminConnectionString: Redacted.make(proxy.url),
          maxDatabases: 5
        })
        const provisioned = yield* provisioning.provision({ name: tenantName("stranded"), environment: "development", server: server.id, namePrefix: prefix })
        yield* Effect.promise(() => proxy.close())
        const stopped = yield* Effect.flip(provisioning.deprovision(provisioned.tenant.tenantId))
        assert.strictEqual(stopped._tag, "DeprovisioningFailed")
        assert.match(
          stopped.message,
          new RegExp(`^Deprovisioning tenant "${provisioned.tenant.name}" stopped: .+; run the same command again to finish, or add --keep-database to remove only the records if server ${server.name} is gone for good$`)
        )
        assert.notInclude(stopped.message, "\n")
        const removed = yield* provisioning.deprovision(provisioned.tenant.tenantId, { keepDatabase: true })
        assert.deepStrictEqual(removed, {
          tenantId: provisioned.tenant.tenantId,
          name: provisioned.tenant.name,
          server: server.name,
          database: provisioned.database.databaseName,
          dropped: false
        })
        assert.strictEqual(yield* recordsOf(controlPlane.url, removed.tenantId), 0)
        // Kept: still on the server (the fixture drops its databases and roles at the end).
        const onServer = yield* Effect.promise(() => databasesAndRolesNamed(removed.database))
        assert.deepStrictEqual(onServer, [{ databases: 1, roles: 1 }])
      }).pipe(Effect.scoped))

    it.effect("a drop that fails on a server that answers (here its admin database is gone) stops without suggesting --keep-database", () =>
      Effect.gen(function*() {
        const { prefix } = yield* Fixture
        const provisioning = yield* Provisioning
        // The server's admin connection string names a database of its own, dropped once the tenant is provisioned.
        const adminDatabase = yield* Effect.promise(() => createTestDatabase("admin_gone"))
        const server = yield* (yield* DatabaseServers).add({
          name: tenantName("answering"),
          host: "127.0.0.1",
          port: Number(new URL(adminUrl()).port || 5432),
          adminConnectionString: Redacted.make(adminDatabase.url),
          maxDatabases: 5
        })
        const provisioned = yield* provisioning.provision({ name: tenantName("kept-back"), environment: "development", server: server.id, namePrefix: prefix })
        yield* Effect.promise(() =>
          withConnection(adminUrl(), (db) => db.query(sql`DROP DATABASE ${sql.ident(adminDatabase.name)} WITH (FORCE)`)))
        const stopped = yield* Effect.flip(provisioning.deprovision(provisioned.tenant.tenantId))
        assert.strictEqual(stopped._tag, "DeprovisioningFailed")
        assert.match(
          stopped.message,
          new RegExp(`^Deprovisioning tenant "${provisioned.tenant.name}" stopped: Database error: the database the connection string names does not exist on the server; run the same command again to finish$`)
        )
      }))

    it.effect("bad input is a typed error in one sentence and writes nothing: unknown, drained or full server, no room anywhere, too long a name", () =>
      Effect.gen(function*() {
        const { prefix, controlPlane } = yield* Fixture
        const provisioning = yield* Provisioning
        const servers = yield* DatabaseServers
        const full = yield* addUniqueServer("full", 1)
        yield* provisioning.provision({ name: tenantName("filler"), environment: "development", server: full.name, namePrefix: prefix })
        const drained = yield* addUniqueServer("drained")
        yield* servers.setStatus(drained.id, "drained")
        const snapshot = () =>
          Effect.promise(() =>
            Promise.all([
              controlPlaneRows(controlPlane.url, sql`SELECT tenant_id, status FROM control_plane.tenants ORDER BY tenant_id`),
              controlPlaneRows(controlPlane.url, sql`SELECT tenant_id, step FROM control_plane.tenant_provisioning ORDER BY tenant_id`),
              controlPlaneRows(controlPlane.url, sql`SELECT id FROM control_plane.tenant_databases ORDER BY id`),
              withConnection(adminUrl(), (db) =>
                db.query(sql`SELECT (SELECT count(*)::int FROM pg_database WHERE datname LIKE ${`${prefix}%`})
                                  + (SELECT count(*)::int FROM pg_roles WHERE rolname LIKE ${`${prefix}%`}) AS n`))
            ])
          )
        const before = yield* snapshot()
        const attempt = (server: string | undefined, namePrefix = prefix) =>
          Effect.flip(provisioning.provision({
            name: tenantName("refused"),
            environment: "production",
            namePrefix,
            ...(server === undefined ? {} : { server })
          }))

        const unknown = yield* attempt("no-such-server")
        assert.strictEqual(unknown._tag, "DatabaseServerNotFound")
        assert.strictEqual(unknown.message, 'No database server is named or has the id "no-such-server"')

        const isDrained = yield* attempt(drained.name)
        assert.deepInclude(isDrained, { _tag: "PlacementRefused" })
        assert.match(isDrained.message, new RegExp(`^Cannot place tenant "refused-\\w+": database server "${drained.name}" is drained and takes no new tenant databases$`))

        const isFull = yield* attempt(full.id)
        assert.strictEqual(isFull._tag === "PlacementRefused" && isFull.reason._tag, "ServerFull")
        assert.match(isFull.message, /is full: it holds its maximum of 1 tenant databases$/)

        const tooLong = yield* attempt(undefined, "p".repeat(32))
        assert.deepInclude(tooLong, { _tag: "IdentifierTooLong", bytes: 64 })
        assert.match(tooLong.message, /makes role and database names of 64 bytes, more than PostgreSQL's 63: use a prefix of at most 31 characters$/)
        assert.strictEqual((yield* attempt(undefined, "Bad-Prefix"))._tag, "InvalidNamePrefix")

        const badName = yield* Effect.flip(provisioning.provision({ name: " padded ", environment: "production", namePrefix: prefix }))
        assert.strictEqual(badName._tag, "InvalidInput")
        const hiddenName = yield* Effect.flip(provisioning.provision({ name: `${tenantName("x")}\u202E`, environment: "production", namePrefix: prefix }))
        assert.strictEqual(
          hiddenName.message,
          'Invalid tenant to provision: must not contain invisible or text-direction characters (U+202E)\n  at ["name"]'
        )
        const badEnvironment = yield* Effect.flip(provisioning.provision({ name: tenantName("x"), environment: "moon" as never }))
        assert.strictEqual(badEnvironment._tag, "InvalidInput")

        // With every server drained or full, automatic placement has nowhere to go.
        const open = (yield* servers.list()).filter((s) => s.status === "open" && s.id !== full.id)
        for (const server of open) yield* servers.setStatus(server.id, "drained")
        const nowhere = yield* attempt(undefined)
        assert.strictEqual(nowhere._tag === "PlacementRefused" && nowhere.reason._tag, "NoServerAvailable")
        assert.match(nowhere.message, /no open database server has room for another tenant database/)
        for (const server of open) yield* servers.setStatus(server.id, "open")

        assert.deepStrictEqual(yield* snapshot(), before)
      }))

    it.effect("places each new tenant on the least-loaded open server (the smallest share of its maximum in use)", () =>
      Effect.gen(function*() {
        const { prefix } = yield* Fixture
        const provisioning = yield* Provisioning
        const big = yield* addUniqueServer("big", 10)
        const small = yield* addUniqueServer("small", 2)
        yield* drainAllBut([big.id, small.id])
        const placed: Array<string> = []
        for (let i = 0; i < 3; i++) {
          placed.push((yield* provisioning.provision({ name: tenantName("spread"), environment: "development", namePrefix: prefix })).server.name)
        }
        // 0/10 and 0/2 tie: by name, big. Then 0/2 < 1/10: small. Then 1/10 < 1/2: big.
        assert.deepStrictEqual(placed, [big.name, small.name, big.name])
        const servers = yield* DatabaseServers
        assert.deepStrictEqual([(yield* servers.get(big.id)).databases, (yield* servers.get(small.id)).databases], [2, 1])
      }))

    it.effect("a dirty tenant database (objects without a revision table) fails the migrate step, recorded; cleaned, a re-run finishes", () =>
      Effect.gen(function*() {
        const { prefix, controlPlane } = yield* Fixture
        const provisioning = yield* Provisioning
        const server = (yield* addUniqueServer("dirty")).id
        const name = tenantName("dirty")
        const error = yield* Effect.flip(provisioning.provision(
          { name, environment: "development", server, namePrefix: prefix },
          {
            // Someone got there first: a table in the new database before the migrations run.
            onStep: (event) =>
              event.step === "migrate" && event.phase === "start"
                ? Effect.promise(async () => {
                  const [row] = await controlPlaneRows<{ database_name: string }>(
                    controlPlane.url,
                    sql`SELECT p.database_name FROM control_plane.tenant_provisioning p JOIN control_plane.tenants t USING (tenant_id) WHERE t.name = ${name}`
                  )
                  const url = new URL(adminUrl())
                  url.pathname = `/${row!.database_name}`
                  // As the tenant's role (the owner of the database), so that the role sees it.
                  await withConnection(url.toString(), (db) =>
                    db.query(sql`SET ROLE ${sql.ident(row!.database_name)}; CREATE TABLE stray (id int)`))
                })
                : Effect.void
          }
        ))
        assert.deepInclude(error, { _tag: "ProvisioningFailed", step: "migrate" })
        assert.match(error.message, /failed at step migrate: the database has no migration history but is not empty .*; run the same command again to resume$/)
        const [record] = yield* Effect.promise(() =>
          controlPlaneRows<{ failed_step: string; database_name: string; status: string }>(
            controlPlane.url,
            sql`SELECT p.failed_step, p.database_name, d.status::text AS status FROM control_plane.tenant_provisioning p
                JOIN control_plane.tenants t USING (tenant_id) JOIN control_plane.tenant_databases d ON d.id = p.database_id
                WHERE t.name = ${name}`
          )
        )
        assert.deepInclude(record, { failed_step: "migrate", status: "error" })
        const url = new URL(adminUrl())
        url.pathname = `/${record!.database_name}`
        yield* Effect.promise(() => withConnection(url.toString(), (db) => db.query(sql`DROP TABLE stray`)))
        const finished = yield* provisioning.provision({ name, environment: "development", server, namePrefix: prefix })
        assert.strictEqual(finished.tenant.status, "active")
      }))

    it.effect("a tenant made by `tenants create` is not provisioning's: TenantNotProvisioned, nothing written", () =>
      Effect.gen(function*() {
        const { prefix } = yield* Fixture
        const tenants = yield* Tenants
        const provisioning = yield* Provisioning
        const plain = yield* tenants.create({ name: tenantName("plain"), environment: "development" })
        const error = yield* Effect.flip(provisioning.provision({ name: plain.name, environment: "development", namePrefix: prefix }))
        assert.strictEqual(error._tag, "TenantNotProvisioned")
        assert.strictEqual((yield* Effect.flip(provisioning.deprovision(plain.tenantId)))._tag, "TenantNotProvisioned")
        assert.strictEqual((yield* tenants.get(plain.tenantId)).status, "pending")
      }))
  })
})
