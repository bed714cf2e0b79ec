/**
 * The Tenants service against the real PostgreSQL: every operation's success
 * and every error it declares. Tests may run concurrently, so each works on
 * tenants with names of its own and never assumes an empty table.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Db, sql } from "../../src/db/Db.ts"
import type { Tenant } from "../../src/domain/Tenant.ts"
import { Tenants } from "../../src/services/Tenants.ts"
import type { Actor } from "../../src/services/Actor.ts"
import { assertEachFailsWithConnectionError, testActor, testDbLayer, unreachableDbLayer } from "../db/testDb.ts"

const uniqueName = (label: string) => `tenants-${label}-${crypto.randomUUID()}`
const missingId = () => crypto.randomUUID()

const rowsNamed = (name: string) =>
  Db.use((db) => db.query<{ n: bigint }>(sql`SELECT count(*) AS n FROM control_plane.tenants WHERE name = ${name}`)).pipe(
    Effect.map((rows) => Number(rows[0]?.n))
  )

const stored = (tenantId: string) =>
  Db.use((db) =>
    db.query<{ name: string; environment: string; status: string; bumped: boolean }>(
      sql`SELECT name, environment, status, updated_at > created_at AS bumped
          FROM control_plane.tenants WHERE tenant_id = ${tenantId}`
    )
  ).pipe(Effect.map((rows) => rows[0]))

const createTenant = (label: string, environment: "development" | "staging" | "production" = "development") =>
  Tenants.use((tenants) => tenants.create({ name: uniqueName(label), environment }))

/** Registers an active database for the tenant (by SQL: the encryption is not what is tested here). */
const addActiveDatabase = (tenantId: string) =>
  Db.use((db) =>
    db.query(sql`
      INSERT INTO control_plane.tenant_databases (tenant_id, connection_string_encrypted, database_name, host, status)
      VALUES (${tenantId}, 'v1:k:x', 'tenant_db', 'db.local', 'active')`)
  )

/** A tenant moved along the lifecycle to `status` (it gets an active database on the way). */
const tenantIn = (label: string, status: "active" | "suspended" | "inactive", environment: "development" | "staging" = "staging") =>
  Effect.gen(function*() {
    const tenants = yield* Tenants
    const tenant = yield* createTenant(label, environment)
    yield* addActiveDatabase(tenant.tenantId)
    const active = yield* tenants.setStatus(tenant.tenantId, "active")
    return status === "active" ? active : yield* tenants.setStatus(tenant.tenantId, status)
  })

const TestLayer = Tenants.layerNoDeps.pipe(Layer.provideMerge(testDbLayer("tenants")), Layer.merge(testActor()))

it.layer(TestLayer, { timeout: "120 seconds" })("Tenants", (it) => {
  describe("create", () => {
    it.effect("stores a pending tenant by default and gives it back", () =>
      Effect.gen(function*() {
        const name = uniqueName("create")
        const tenant = yield* Tenants.use((t) => t.create({ name, environment: "staging" }))
        assert.strictEqual(tenant.name, name)
        assert.strictEqual(tenant.environment, "staging")
        assert.strictEqual(tenant.status, "pending")
        assert.match(tenant.tenantId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/)
        assert.instanceOf(tenant.createdAt, Date)
        assert.deepStrictEqual(tenant.createdAt, tenant.updatedAt)
        assert.deepStrictEqual(yield* stored(tenant.tenantId), { name, environment: "staging", status: "pending", bumped: false })
      }))

    it.effect("takes no status: every tenant starts pending, and a status given anyway is InvalidInput", () =>
      Effect.gen(function*() {
        const name = uniqueName("active")
        const input = { name, environment: "production", status: "active" }
        const error = yield* Effect.flip(Tenants.use((t) => t.create(input as never)))
        assert.strictEqual(error._tag, "InvalidInput")
        assert.include(error.message, `["status"]`)
        assert.strictEqual(yield* rowsNamed(name), 0)
      }))

    it.effect("accepts any script, inner spaces and 255 code points", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const long = `${"😀".repeat(254)}${crypto.randomUUID().slice(0, 1)}`
        for (const name of [`Müller GmbH ${crypto.randomUUID()}`, long]) {
          const tenant = yield* tenants.create({ name, environment: "development" })
          assert.strictEqual(tenant.name, name)
          assert.strictEqual((yield* stored(tenant.tenantId))?.name, name)
        }
      }))

    it.effect("refuses invalid input with InvalidInput saying what is wrong, and writes nothing", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const id = crypto.randomUUID()
        const cases: ReadonlyArray<[unknown, string]> = [
          [{ name: "", environment: "development" }, "must not be empty"],
          [{ name: `x${id}${"y".repeat(255)}`, environment: "development" }, "must be at most 255 characters"],
          [{ name: ` padded ${id}`, environment: "development" }, "must not start or end with whitespace"],
          [{ name: `line\nbreak ${id}`, environment: "development" }, "must not contain control characters"],
          [{ name: `nul\u0000 ${id}`, environment: "development" }, "must not contain control characters"],
          [{ name: `ac\u200Bme ${id}`, environment: "development" }, "must not contain invisible or text-direction characters (U+200B)"],
          [{ name: `acme\u202Etxt ${id}`, environment: "development" }, "must not contain invisible or text-direction characters (U+202E)"],
          [{ name: `bad-env ${id}`, environment: "prod" }, `Expected "development" | "staging" | "production"`],
          [{ name: `bad-status ${id}`, environment: "development", status: "pending" }, `["status"]`],
          [{ name: 42, environment: "development" }, "Expected string"],
          [{ environment: "development" }, "Missing key"]
        ]
        for (const [input, expected] of cases) {
          const error = yield* Effect.flip(tenants.create(input as never))
          assert.strictEqual(error._tag, "InvalidInput")
          assert.include(error.message, "Invalid tenant:")
          assert.include(error.message, expected)
        }
        const written = yield* Db.use((db) =>
          db.query<{ n: bigint }>(sql`SELECT count(*) AS n FROM control_plane.tenants WHERE strpos(name, ${id}) > 0`)
        )
        assert.strictEqual(Number(written[0]?.n), 0)
      }))

    it.effect("refuses a taken name with TenantNameTaken", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const first = yield* createTenant("taken")
        const error = yield* Effect.flip(tenants.create({ name: first.name, environment: "production" }))
        assert.strictEqual(error._tag, "TenantNameTaken")
        assert.strictEqual(error._tag === "TenantNameTaken" ? error.name : "", first.name)
        const seeded = yield* Effect.flip(tenants.create({ name: "system_admin", environment: "development" }))
        assert.strictEqual(seeded._tag, "TenantNameTaken")
        assert.strictEqual(yield* rowsNamed(first.name), 1)
      }))

    it.effect("20 concurrent creates of one name give one tenant and 19 TenantNameTaken", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const name = uniqueName("race")
        const results = yield* Effect.all(
          Array.from({ length: 20 }, () => Effect.result(tenants.create({ name, environment: "development" }))),
          { concurrency: "unbounded" }
        )
        const created = results.filter((result) => result._tag === "Success")
        const taken = results.filter((result) => result._tag === "Failure" && result.failure._tag === "TenantNameTaken")
        assert.strictEqual(created.length, 1)
        assert.strictEqual(taken.length, 19)
        assert.strictEqual(yield* rowsNamed(name), 1)
      }))
  })

  describe("get and findByName", () => {
    it.effect("find a tenant by id and by name", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const tenant = yield* createTenant("lookup")
        assert.deepStrictEqual(yield* tenants.get(tenant.tenantId), tenant)
        assert.deepStrictEqual(yield* tenants.findByName(tenant.name), tenant)
        const admin = yield* tenants.findByName("system_admin")
        assert.strictEqual(admin.environment, "production")
        assert.strictEqual(admin.status, "active")
      }))

    it.effect("a name stored before the invisible-character rule (here from SQL) is still found by name", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const tenant = yield* createTenant("legacy")
        const name = `${tenant.name}\u200B`
        yield* Db.use((db) => db.query(sql`UPDATE control_plane.tenants SET name = ${name} WHERE tenant_id = ${tenant.tenantId}`))
        const found = yield* tenants.findByName(name)
        assert.strictEqual(found.tenantId, tenant.tenantId)
        assert.strictEqual(found.name, name)
      }))

    it.effect("an unknown id or name is TenantNotFound", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const id = missingId()
        const byId = yield* Effect.flip(tenants.get(id))
        assert.strictEqual(byId._tag, "TenantNotFound")
        assert.strictEqual(byId.message, `No tenant has the id ${id}`)
        const name = uniqueName("nobody")
        const byName = yield* Effect.flip(tenants.findByName(name))
        assert.strictEqual(byName._tag, "TenantNotFound")
        assert.strictEqual(byName._tag === "TenantNotFound" ? byName.name : "", name)
      }))

    it.effect("a malformed id or name is InvalidInput", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const byId = yield* Effect.flip(tenants.get("not-a-uuid"))
        assert.strictEqual(byId._tag, "InvalidInput")
        assert.strictEqual(byId.message, "Invalid tenant id: Expected a UUID")
        const byName = yield* Effect.flip(tenants.findByName(""))
        assert.strictEqual(byName.message, "Invalid tenant name: must not be empty")
      }))
  })

  describe("list", () => {
    it.effect("filters by status and by environment", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const suspended = yield* tenantIn("f1", "suspended")
        const inactive = yield* tenantIn("f2", "inactive")
        const page = yield* tenants.list({ status: "suspended", environment: "staging", limit: 500 })
        assert.isTrue(page.tenants.every((t) => t.status === "suspended" && t.environment === "staging"))
        assert.isTrue(page.tenants.some((t) => t.tenantId === suspended.tenantId))
        assert.isFalse(page.tenants.some((t) => t.tenantId === inactive.tenantId))
        const staging = yield* tenants.list({ environment: "staging", limit: 500 })
        assert.isTrue(staging.tenants.every((t) => t.environment === "staging"))
        assert.includeMembers(staging.tenants.map((t) => t.tenantId), [suspended.tenantId, inactive.tenantId])
        const active = yield* tenants.list({ status: "active", limit: 500 })
        assert.isTrue(active.tenants.every((t) => t.status === "active"))
        assert.isTrue(active.tenants.some((t) => t.name === "system_admin"))
      }))

    it.effect("pages stay stable while rows are inserted between them", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const db = yield* Db
        for (let i = 0; i < 5; i++) yield* createTenant(`page-${i}`)
        const before = yield* db.query<{ tenant_id: string }>(sql`SELECT tenant_id FROM control_plane.tenants`)
        const seen: Array<Tenant> = []
        const insertedBetween: Array<string> = []
        let cursor: string | null | undefined = undefined
        do {
          const page: { tenants: ReadonlyArray<Tenant>; nextCursor: string | null } = yield* tenants.list(
            cursor === undefined ? { limit: 2 } : { limit: 2, after: cursor }
          )
          assert.isAtMost(page.tenants.length, 2)
          seen.push(...page.tenants)
          cursor = page.nextCursor
          if (insertedBetween.length < 3) insertedBetween.push((yield* createTenant("between")).tenantId)
        } while (cursor !== null)
        const ids = seen.map((t) => t.tenantId)
        assert.strictEqual(new Set(ids).size, ids.length, "no tenant appears twice")
        assert.includeMembers(ids, before.map((row) => row.tenant_id), "every tenant there at the start appears")
        assert.includeMembers(ids, insertedBetween, "tenants inserted between pages appear on later pages")
        for (let i = 1; i < seen.length; i++) {
          const [a, b] = [seen[i - 1]!, seen[i]!]
          assert.isTrue(a.createdAt <= b.createdAt, "oldest first")
        }
      }))

    it.effect("gives no cursor on the last page", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const suspendedProd = yield* tenants.list({ limit: 500 })
        assert.isNull(suspendedProd.nextCursor)
        const first = yield* tenants.list({ limit: 1 })
        assert.strictEqual(first.tenants.length, 1)
        assert.isString(first.nextCursor)
      }))

    it.effect("refuses bad options with InvalidInput", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        for (const [options, expected] of [
          [{ limit: 0 }, "Expected a value between 1 and 500"],
          [{ limit: 501 }, "Expected a value between 1 and 500"],
          [{ limit: 1.5 }, "Expected an integer"],
          [{ status: "gone" }, "Expected"],
          [{ after: "not-a-cursor" }, "`after` is not a cursor given by list"],
          [{ after: Buffer.from("123:not-a-uuid").toString("base64url") }, "`after` is not a cursor given by list"],
          // Well formed, but beyond any timestamp: refused here, not by the database.
          [{ after: Buffer.from("-999999999999999999:4b0e4c2e-9a49-4bb8-9a6f-3d8f0c6f1e2a").toString("base64url") }, "`after` is not a cursor given by list"],
          [{ after: Buffer.from("99999999999999999999:4b0e4c2e-9a49-4bb8-9a6f-3d8f0c6f1e2a").toString("base64url") }, "`after` is not a cursor given by list"]
        ] as const) {
          const error = yield* Effect.flip(tenants.list(options as never))
          assert.strictEqual(error._tag, "InvalidInput")
          assert.include(error.message, expected)
        }
      }))
  })

  describe("rename, setEnvironment, setStatus", () => {
    it.effect("change the tenant and bump updated_at", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const tenant = yield* createTenant("change")
        const newName = uniqueName("renamed")
        const renamed = yield* tenants.rename(tenant.tenantId, newName)
        assert.strictEqual(renamed.name, newName)
        assert.strictEqual(renamed.tenantId, tenant.tenantId)
        const moved = yield* tenants.setEnvironment(tenant.tenantId, "production")
        assert.strictEqual(moved.environment, "production")
        assert.strictEqual(moved.name, newName)
        const deactivated = yield* tenants.setStatus(tenant.tenantId, "inactive")
        assert.strictEqual(deactivated.status, "inactive")
        assert.deepStrictEqual(yield* stored(tenant.tenantId), { name: newName, environment: "production", status: "inactive", bumped: true })
        assert.deepStrictEqual(yield* tenants.get(tenant.tenantId), deactivated)
        assert.isTrue(deactivated.updatedAt >= tenant.updatedAt)
      }))

    it.effect("sets updated_at itself, even where the trigger is missing", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const db = yield* Db
        const tenant = yield* createTenant("no-trigger")
        // Inside a transaction that is rolled back, so the trigger is only gone for this test.
        const outcome = yield* Effect.flip(
          db.transaction(
            Effect.gen(function*() {
              yield* db.query(sql`DROP TRIGGER update_tenants_updated_at ON control_plane.tenants`)
              yield* tenants.setStatus(tenant.tenantId, "inactive")
              return yield* Effect.fail({ bumped: (yield* stored(tenant.tenantId))?.bumped })
            })
          )
        )
        assert.deepStrictEqual(outcome, { bumped: true })
        const triggers = yield* db.query(sql`SELECT 1 FROM pg_trigger WHERE tgname = 'update_tenants_updated_at'`)
        assert.strictEqual(triggers.length, 1)
      }))

    it.effect("renaming to a taken name is TenantNameTaken and changes nothing", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const [a, b] = [yield* createTenant("a"), yield* createTenant("b")]
        const error = yield* Effect.flip(tenants.rename(a.tenantId, b.name))
        assert.strictEqual(error._tag, "TenantNameTaken")
        assert.strictEqual((yield* tenants.get(a.tenantId)).name, a.name)
      }))

    it.effect("an unknown tenant is TenantNotFound", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const id = missingId()
        const changes: ReadonlyArray<Effect.Effect<Tenant, { readonly _tag: string }, Actor>> = [
          tenants.rename(id, uniqueName("ghost")),
          tenants.setEnvironment(id, "staging"),
          tenants.setStatus(id, "active")
        ]
        for (const change of changes) {
          const error = yield* Effect.flip(change)
          assert.strictEqual(error._tag, "TenantNotFound")
        }
      }))

    it.effect("invalid values are InvalidInput and change nothing", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const tenant = yield* createTenant("invalid-change")
        const cases: ReadonlyArray<readonly [Effect.Effect<Tenant, { readonly _tag: string; readonly message: string }, Actor>, string]> = [
          [tenants.rename(tenant.tenantId, " spaced "), "Invalid tenant name"],
          [tenants.rename(tenant.tenantId, `${tenant.name}\u2066`), "Invalid tenant name: must not contain invisible or text-direction characters (U+2066)"],
          [tenants.setEnvironment(tenant.tenantId, "qa"), "Invalid tenant environment"],
          [tenants.setStatus(tenant.tenantId, "archived"), "Invalid tenant status"],
          [tenants.setStatus("nope", "active"), "Invalid tenant id"]
        ]
        for (const [change, expected] of cases) {
          const error = yield* Effect.flip(change)
          assert.strictEqual(error._tag, "InvalidInput")
          assert.include(error.message, expected)
        }
        assert.deepStrictEqual(yield* stored(tenant.tenantId), {
          name: tenant.name,
          environment: "development",
          status: "pending",
          bumped: false
        })
      }))
  })

  describe("lifecycle (enforced by the database)", () => {
    it.effect("a move the table does not allow is IllegalTransition naming the moves allowed, and changes nothing", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const tenant = yield* createTenant("illegal")
        const error = yield* Effect.flip(tenants.setStatus(tenant.tenantId, "suspended"))
        assert.strictEqual(error._tag, "IllegalTransition")
        assert.deepInclude(error, { entity: "tenant", id: tenant.tenantId, entityName: tenant.name, from: "pending", to: "suspended", allowed: ["active", "inactive"] })
        assert.strictEqual(
          error.message,
          `Tenant ${JSON.stringify(tenant.name)} cannot move from pending to suspended; from pending it can move to active or inactive`
        )
        assert.strictEqual((yield* stored(tenant.tenantId))?.status, "pending")
        const gone = yield* tenantIn("final", "inactive")
        const final = yield* Effect.flip(tenants.setStatus(gone.tenantId, "active"))
        assert.strictEqual(final.message, `Tenant ${JSON.stringify(gone.name)} cannot move from inactive to active; inactive is final`)
      }))

    it.effect("becoming active without an active database is NoActiveDatabase; with one it works, and back and forth", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const tenant = yield* createTenant("activate")
        const error = yield* Effect.flip(tenants.setStatus(tenant.tenantId, "active"))
        assert.strictEqual(error._tag, "NoActiveDatabase")
        assert.strictEqual(error.message, `Tenant ${JSON.stringify(tenant.name)} has no active database`)
        yield* addActiveDatabase(tenant.tenantId)
        assert.strictEqual((yield* tenants.setStatus(tenant.tenantId, "active")).status, "active")
        assert.strictEqual((yield* tenants.setStatus(tenant.tenantId, "suspended")).status, "suspended")
        assert.strictEqual((yield* tenants.setStatus(tenant.tenantId, "active")).status, "active")
      }))

    it.effect("setting the status a tenant has already is not a move: it succeeds and changes nothing", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant("same")
        assert.strictEqual((yield* Tenants.use((t) => t.setStatus(tenant.tenantId, "pending"))).status, "pending")
      }))

    it.effect("system_admin cannot be renamed, suspended, deactivated or deleted (SystemTenantProtected)", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const admin = yield* tenants.findByName("system_admin")
        const cases: ReadonlyArray<readonly [Effect.Effect<Tenant, { readonly _tag: string; readonly message: string }, Actor>, string]> = [
          [tenants.rename(admin.tenantId, uniqueName("admin")), "system_admin is the platform's own tenant and cannot be renamed"],
          [tenants.setStatus(admin.tenantId, "suspended"), "system_admin is the platform's own tenant and always stays active: it cannot become suspended"],
          [tenants.setStatus(admin.tenantId, "inactive"), "system_admin is the platform's own tenant and always stays active: it cannot become inactive"],
          [tenants.delete(admin.tenantId), "system_admin is the platform's own tenant and cannot be deleted"]
        ]
        for (const [attempt, message] of cases) {
          const error = yield* Effect.flip(attempt)
          assert.strictEqual(error._tag, "SystemTenantProtected")
          assert.strictEqual(error.message, message)
        }
        assert.deepStrictEqual(yield* tenants.findByName("system_admin"), admin)
      }))
  })

  describe("delete", () => {
    it.effect("removes the tenant and, by cascade, its databases", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        const db = yield* Db
        const tenant = yield* createTenant("delete")
        yield* db.query(sql`
          INSERT INTO control_plane.tenant_databases (tenant_id, connection_string_encrypted, database_name, host, status)
          VALUES (${tenant.tenantId}, 'v1:k:x', 'tenant_db', 'db.local', 'active')`)
        const deleted = yield* tenants.delete(tenant.tenantId)
        assert.deepStrictEqual(deleted, tenant)
        assert.strictEqual((yield* Effect.flip(tenants.get(tenant.tenantId)))._tag, "TenantNotFound")
        const databases = yield* db.query<{ n: bigint }>(
          sql`SELECT count(*) AS n FROM control_plane.tenant_databases WHERE tenant_id = ${tenant.tenantId}`
        )
        assert.strictEqual(Number(databases[0]?.n), 0)
      }))

    it.effect("an unknown tenant is TenantNotFound, a malformed id InvalidInput", () =>
      Effect.gen(function*() {
        const tenants = yield* Tenants
        assert.strictEqual((yield* Effect.flip(tenants.delete(missingId())))._tag, "TenantNotFound")
        assert.strictEqual((yield* Effect.flip(tenants.delete("42")))._tag, "InvalidInput")
      }))
  })
})

// Every operation surfaces database trouble as DbError: a Tenants whose
// server refuses connections.
const Unreachable = Tenants.layerNoDeps.pipe(Layer.provide(unreachableDbLayer), Layer.merge(testActor()))

it.layer(Unreachable)("Tenants without a database", (it) => {
  it.effect("every operation fails with DbError(ConnectionError)", () =>
    Effect.gen(function*() {
      const tenants = yield* Tenants
      const id = missingId()
      yield* assertEachFailsWithConnectionError([
        tenants.create({ name: uniqueName("down"), environment: "development" }),
        tenants.get(id),
        tenants.findByName("system_admin"),
        tenants.list(),
        tenants.rename(id, uniqueName("down")),
        tenants.setEnvironment(id, "staging"),
        tenants.setStatus(id, "active"),
        tenants.delete(id)
      ])
    }))
})
