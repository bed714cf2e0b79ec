/**
 * Property-based tests (fast-check) of every service input: Tenants,
 * TenantDatabases, SystemConfig, AuditTrail, Actor, DatabaseServers and
 * TenantConnections get random strings
 * (any code point, lone surrogates, NUL), numbers (NaN, -0, huge), objects,
 * arrays, dates, bigints and near-valid values. Each call must end in success
 * or in one of the typed errors its signature declares, never in a defect or
 * an undeclared error; and a call that fails must not have written anything
 * (the tables and the head of the audit trail read the same before and after).
 *
 * The calls run one at a time on this file's own database.
 */
import * as nodeCrypto from "node:crypto"
import { Effect, Layer, ManagedRuntime, Redacted, Result, Schema } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeHolds } from "./holds.ts"
import { ConnectionStringCrypto } from "../../src/crypto/ConnectionStringCrypto.ts"
import { KeyRing } from "../../src/crypto/KeyRing.ts"
import { Db, sql } from "../../src/db/Db.ts"
import { Actor } from "../../src/services/Actor.ts"
import { AuditTrail } from "../../src/services/AuditTrail.ts"
import { DatabaseServers } from "../../src/services/DatabaseServers.ts"
import { TenantConnections } from "../../src/services/TenantConnections.ts"
import { TenantConnectionsConfig } from "../../src/services/TenantConnections/config.ts"
import { SystemConfig } from "../../src/services/SystemConfig.ts"
import { TenantDatabases } from "../../src/services/TenantDatabases.ts"
import { Tenants } from "../../src/services/Tenants.ts"
import { testActor, testDbLayer } from "../db/testDb.ts"

const ring = Result.getOrThrow(
  KeyRing.make([{ id: "p1" as never, material: Redacted.make(new Uint8Array(nodeCrypto.randomBytes(32))) }], "p1")
)
const ServicesLayer = Layer.mergeAll(
  Tenants.layerNoDeps,
  SystemConfig.layerNoDeps,
  AuditTrail.layerNoDeps,
  TenantDatabases.layerNoDeps,
  DatabaseServers.layerNoDeps,
  // A short checkout wait: a budget that cannot be met fails fast here.
  TenantConnections.layerNoDeps.pipe(Layer.provide(TenantConnectionsConfig.layerWith({ checkoutTimeoutMs: 200 })))
).pipe(
  Layer.provide(Layer.succeed(ConnectionStringCrypto, ConnectionStringCrypto.fromKeyRing(ring))),
  Layer.provideMerge(testDbLayer("properties")),
  Layer.provideMerge(testActor("property-tests"))
)

type Services = Layer.Success<typeof ServicesLayer>
let runtime: ManagedRuntime.ManagedRuntime<Services, unknown>

/** Real rows for the near-valid inputs to hit: a tenant, one of its databases, and a database server. */
let existing: {
  readonly tenantId: string
  readonly name: string
  readonly databaseId: string
  readonly serverId: string
  readonly serverName: string
}

beforeAll(async () => {
  runtime = ManagedRuntime.make(ServicesLayer)
  existing = await runtime.runPromise(Effect.gen(function*() {
    const tenant = yield* Tenants.use((t) => t.create({ name: "property-base", environment: "staging" }))
    const database = yield* TenantDatabases.use((r) =>
      r.register({ tenantId: tenant.tenantId, connectionString: Redacted.make("postgres://a:b@h/d"), databaseName: "d", host: "h" })
    )
    const server = yield* DatabaseServers.use((servers) =>
      servers.add({ name: "property-server", host: "db.internal", adminConnectionString: Redacted.make("postgres://admin:pw@db.internal/postgres"), maxDatabases: 10 })
    )
    return { tenantId: tenant.tenantId, name: tenant.name, databaseId: database.id, serverId: server.id, serverName: server.name }
  }))
}, 120_000)
afterAll(() => runtime?.dispose())

/** Everything a write could change, hashed: the tables the services write and the head of the audit trail. */
const fingerprint = Db.use((db) =>
  db.query<{ print: string }>(sql`
    SELECT md5(coalesce((SELECT string_agg(t::text, '|' ORDER BY t::text) FROM control_plane.tenants t), '') || '#' ||
               coalesce((SELECT string_agg(d::text, '|' ORDER BY d::text) FROM control_plane.tenant_databases d), '') || '#' ||
               coalesce((SELECT string_agg(c::text, '|' ORDER BY c::text) FROM control_plane.system_config c), '') || '#' ||
               coalesce((SELECT string_agg(s::text, '|' ORDER BY s::text) FROM control_plane.database_servers s), '') || '#' ||
               coalesce((SELECT max(id)::text FROM control_plane.audit_events), '')) AS print`)
).pipe(Effect.map((rows) => rows[0]!.print))

const holds = makeHolds<Services>(() => runtime, fingerprint)

/** A code point of any kind: ASCII controls and NUL, any Unicode, and lone surrogate halves. */
const anyCodePoint = fc.oneof(
  fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 1 }),
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit))
)
const anyString = fc.oneof(
  fc.string({ unit: anyCodePoint, maxLength: 40 }),
  fc.string({ unit: "grapheme", minLength: 250, maxLength: 260 }),
  fc.constantFrom("", " ", "acme", " acme", "system_admin", "00000000-0000-0000-0000-000000000000", "null", "'; DROP TABLE x; --")
)
const anyNumber = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, Number.NaN, Infinity, -Infinity, 2 ** 53, 65536, 5432))
const anyValue = fc.oneof(
  anyString,
  anyNumber,
  fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withBoxedValues: true, stringUnit: "binary" })
)
const orAny = <A>(arbitrary: fc.Arbitrary<A>) => fc.oneof(arbitrary, anyValue)
/** A record whose keys may be missing and whose values are near-valid or anything. */
const looseRecord = <T extends Record<string, fc.Arbitrary<unknown>>>(model: T) =>
  fc.oneof(fc.record(model, { requiredKeys: [] }), anyValue)

const tenantIdLike = () => orAny(fc.oneof(fc.constant(existing.tenantId), fc.uuid(), fc.constant(existing.name)))
const databaseIdLike = () => orAny(fc.oneof(fc.constant(existing.databaseId), fc.uuid()))
const environment = orAny(fc.constantFrom("development", "staging", "production"))
const tenantStatus = orAny(fc.constantFrom("active", "inactive", "suspended", "pending"))
const databaseStatus = orAny(fc.constantFrom("active", "inactive", "migrating", "error"))
const newName = orAny(fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }).map((name) => `p-${name}`))

const runs = { numRuns: 60 }
const property = <A>(arbitrary: fc.Arbitrary<A>, allowed: ReadonlyArray<string>, call: (input: A) => Effect.Effect<unknown, unknown, Services>) =>
  fc.assert(fc.asyncProperty(arbitrary, (input) => holds(allowed, call(input))), runs)

// Inputs are `never`-typed on purpose: the point is what the services do with values their types forbid.
const any = <A>(value: A): never => value as never

describe("Tenants", () => {
  it("create", () =>
    property(looseRecord({ name: newName, environment, status: tenantStatus }), ["InvalidInput", "TenantNameTaken"], (input) =>
      Tenants.use((t) => t.create(any(input)))))
  it("get, findByName", async () => {
    await property(tenantIdLike(), ["InvalidInput", "TenantNotFound"], (id) => Tenants.use((t) => t.get(any(id))))
    await property(orAny(fc.constant(existing.name)), ["InvalidInput", "TenantNotFound"], (name) => Tenants.use((t) => t.findByName(any(name))))
  })
  it("list", () =>
    property(
      orAny(looseRecord({ status: tenantStatus, environment, limit: orAny(fc.integer({ min: -5, max: 600 })), after: anyString })),
      ["InvalidInput"],
      (input) => Tenants.use((t) => t.list(any(input)))
    ))
  it("rename, setEnvironment, setStatus", async () => {
    await property(fc.tuple(tenantIdLike(), newName), ["InvalidInput", "TenantNotFound", "TenantNameTaken", "SystemTenantProtected"], ([id, name]) =>
      Tenants.use((t) => t.rename(any(id), any(name))))
    await property(fc.tuple(tenantIdLike(), environment), ["InvalidInput", "TenantNotFound"], ([id, value]) =>
      Tenants.use((t) => t.setEnvironment(any(id), any(value))))
    const lifecycle = ["IllegalTransition", "NoActiveDatabase", "SystemTenantProtected"]
    await property(fc.tuple(tenantIdLike(), tenantStatus), ["InvalidInput", "TenantNotFound", ...lifecycle], ([id, value]) =>
      Tenants.use((t) => t.setStatus(any(id), any(value))))
  })
  it("delete (never the base tenant)", () =>
    property(orAny(fc.uuid()), ["InvalidInput", "TenantNotFound"], (id) => Tenants.use((t) => t.delete(any(id)))))
})

describe("TenantDatabases", () => {
  const connectionString = orAny(orAny(fc.string({ maxLength: 60 })).map((text) => typeof text === "string" ? Redacted.make(text) : text))
  it("register", () =>
    property(
      looseRecord({
        tenantId: tenantIdLike(),
        connectionString,
        databaseName: orAny(fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 })),
        host: orAny(fc.domain()),
        port: orAny(fc.integer({ min: -1, max: 70000 })),
        status: databaseStatus
      }),
      ["InvalidInput", "TenantNotFound", "IllegalTransition"],
      (input) => TenantDatabases.use((r) => r.register(any(input)))
    ))
  it("listForTenant, get, reveal", async () => {
    await property(tenantIdLike(), ["InvalidInput", "TenantNotFound"], (id) => TenantDatabases.use((r) => r.listForTenant(any(id))))
    await property(databaseIdLike(), ["InvalidInput", "TenantDatabaseNotFound"], (id) => TenantDatabases.use((r) => r.get(any(id))))
    // A successful reveal writes its audit event: only failures must leave everything as it was.
    await property(orAny(fc.uuid()), ["InvalidInput", "TenantDatabaseNotFound"], (id) => TenantDatabases.use((r) => r.reveal(any(id))))
  })
  it("setStatus, remove (never the base database)", async () => {
    await property(fc.tuple(databaseIdLike(), databaseStatus), ["InvalidInput", "TenantDatabaseNotFound", "IllegalTransition"], ([id, status]) =>
      TenantDatabases.use((r) => r.setStatus(any(id), any(status))))
    await property(orAny(fc.uuid()), ["InvalidInput", "TenantDatabaseNotFound"], (id) => TenantDatabases.use((r) => r.remove(any(id))))
  })
  it("reencryptAll", () =>
    property(orAny(looseRecord({ batchSize: orAny(fc.integer({ min: -2, max: 20_000 })) })), ["InvalidInput"], (options) =>
      TenantDatabases.use((r) => r.reencryptAll(any(options)))))
})

describe("SystemConfig", () => {
  const key = orAny(fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }).map((k) => `p.${k}`))
  const schemas = fc.constantFrom<Schema.Codec<unknown, unknown>>(
    Schema.Json,
    Schema.Unknown,
    Schema.String,
    Schema.Number,
    Schema.Struct({ limit: Schema.Int }),
    Schema.Date,
    Schema.Array(Schema.String)
  )
  it("set", () =>
    property(fc.tuple(key, schemas, anyValue), ["InvalidInput"], ([k, schema, value]) =>
      SystemConfig.use((c) => c.set(any(k), schema as never, value))))
  it("get, delete", async () => {
    await property(fc.tuple(key, schemas), ["InvalidInput", "ConfigKeyNotFound", "ConfigValueInvalid"], ([k, schema]) =>
      SystemConfig.use((c) => c.get(any(k), schema as never)))
    await property(key, ["InvalidInput", "ConfigKeyNotFound"], (k) => SystemConfig.use((c) => c.delete(any(k))))
  })
})

describe("DatabaseServers", () => {
  const serverIdLike = () => orAny(fc.oneof(fc.constant(existing.serverId), fc.uuid()))
  it("add", () =>
    property(
      looseRecord({
        name: orAny(fc.oneof(fc.constant(existing.serverName), fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/).map((n) => `p-${n}`))),
        host: orAny(fc.domain()),
        port: orAny(fc.integer({ min: -1, max: 70000 })),
        adminConnectionString: orAny(anyString.map((text) => Redacted.make(text))),
        maxDatabases: orAny(fc.integer({ min: -1, max: 2_000_000 })),
        status: orAny(fc.constantFrom("open", "drained"))
      }),
      ["InvalidInput", "DatabaseServerNameTaken"],
      (input) => DatabaseServers.use((servers) => servers.add(any(input)))
    ))
  it("get, findByName, setStatus, revealAdmin", async () => {
    await property(serverIdLike(), ["InvalidInput", "DatabaseServerNotFound"], (id) => DatabaseServers.use((s) => s.get(any(id))))
    await property(orAny(fc.constant(existing.serverName)), ["InvalidInput", "DatabaseServerNotFound"], (name) =>
      DatabaseServers.use((s) => s.findByName(any(name))))
    await property(fc.tuple(orAny(fc.uuid()), orAny(fc.constantFrom("open", "drained"))), ["InvalidInput", "DatabaseServerNotFound"], ([id, status]) =>
      DatabaseServers.use((s) => s.setStatus(any(id), any(status))))
    // A successful reveal is recorded: only failures must leave everything as it was.
    await property(orAny(fc.uuid()), ["InvalidInput", "DatabaseServerNotFound"], (id) => DatabaseServers.use((s) => s.revealAdmin(any(id))))
  })
})

describe("TenantConnections", () => {
  const withTenantErrors = ["InvalidInput", "TenantNotFound", "TenantNotActive", "NoActiveDatabase", "ConnectionBudgetExhausted", "DbError"]
  it("resolve, withTenant", async () => {
    await property(tenantIdLike(), ["InvalidInput", "TenantNotFound"], (tenant) => TenantConnections.use((c) => c.resolve(any(tenant))))
    // existing is pending, so even its name ends in a typed refusal, never a connection.
    await property(tenantIdLike(), withTenantErrors, (tenant) =>
      TenantConnections.use((c) => c.withTenant(any(tenant), (db) => db.query(sql`SELECT 1`))))
  })
  it("reserve", () =>
    property(fc.tuple(tenantIdLike(), anyNumber), ["InvalidInput", "ConnectionBudgetExhausted"], ([tenant, connections]) =>
      Effect.scoped(TenantConnections.use((c) => c.reserve(any(tenant), any(connections))))))
})

describe("AuditTrail and Actor", () => {
  it("list", () =>
    property(
      orAny(looseRecord({
        tenantId: tenantIdLike(),
        since: orAny(fc.date({ noInvalidDate: false })),
        entityType: orAny(fc.constantFrom("tenant", "tenant_database")),
        action: orAny(fc.constantFrom("create", "update")),
        limit: orAny(fc.integer({ min: -1, max: 1001 })),
        after: orAny(fc.bigInt({ min: 0n, max: 10n ** 19n }).map(String))
      })),
      ["InvalidInput"],
      (input) => AuditTrail.use((t) => t.list(any(input)))
    ))
  it("purge (bad inputs only: a valid one purges, which is a write)", () =>
    property(
      looseRecord({ olderThanDays: orAny(fc.integer({ min: -10, max: -1 })), reason: anyString }).filter((input) =>
        !(typeof input === "object" && input !== null && Number.isInteger((input as { olderThanDays?: unknown }).olderThanDays) &&
          ((input as { olderThanDays: number }).olderThanDays >= 0))
      ),
      ["InvalidInput"],
      (input) => AuditTrail.use((t) => t.purge(any(input)))
    ))
  it("Actor.make, and a write under any actor", () =>
    property(fc.tuple(orAny(anyString), fc.option(orAny(anyString), { nil: undefined })), ["InvalidInput"], ([name, reason]) =>
      Effect.flatMap(Actor.make(any(name), any(reason)), (actor) =>
        Tenants.use((t) => t.setEnvironment(existing.tenantId, "staging")).pipe(Effect.provideService(Actor, actor)))))
  it("the chain still verifies after all of the above", async () => {
    const report = await runtime.runPromise(AuditTrail.use((t) => t.verify()))
    expect(report.events).toBeGreaterThan(2)
  })
})
