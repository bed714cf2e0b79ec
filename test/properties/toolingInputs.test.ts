/**
 * Property-based tests (fast-check) of the tooling's service inputs:
 * Provisioning (provision, deprovision) and FleetMigrations (migrate,
 * status) get random strings, numbers and objects. Each call must end in
 * success or in a typed error its signature declares, never in a defect; and a
 * call that fails must not have written anything.
 *
 * The control plane here has no database server registered, so no input can
 * reach a server: a provision that passes its checks is refused a placement
 * (after which nothing may be left of it), and a fleet run finds no database.
 */
import { Effect, Layer, ManagedRuntime } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, it } from "vitest"
import { makeHolds } from "./holds.ts"
import { Db, sql } from "../../src/db/Db.ts"
import type { Actor } from "../../src/services/Actor.ts"
import { ConnectionBudget } from "../../cli/src/fleet/ConnectionBudget.ts"
import { FleetMigrations } from "../../cli/src/fleet/FleetMigrations.ts"
import { Provisioning } from "../../cli/src/fleet/Provisioning.ts"
import { TenantSchema } from "../../cli/src/fleet/TenantSchema.ts"
import { locksOn, newKeyRing, provisioningOn } from "../fleet/support.ts"
import { createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"

type Services = Provisioning | FleetMigrations | Db | Actor

let database: TestDatabase
let runtime: ManagedRuntime.ManagedRuntime<Services, unknown>

beforeAll(async () => {
  database = await createMigratedTestDatabase("tooling_properties")
  const provisioning = provisioningOn(database.url, newKeyRing().ring, 2)
  const fleet = FleetMigrations.layerNoDeps.pipe(
    Layer.provideMerge(Layer.mergeAll(TenantSchema.layer, ConnectionBudget.layerOf(2), locksOn(database.url))),
    Layer.provideMerge(provisioning)
  )
  runtime = ManagedRuntime.make(fleet)
}, 120_000)
afterAll(async () => {
  await runtime?.dispose()
  await database?.drop()
})

/** Everything a provisioning or a fleet run could write, hashed, with the head of the audit trail. */
const fingerprint = Db.use((db) =>
  db.query<{ print: string }>(sql`
    SELECT md5(concat_ws('#',
      (SELECT string_agg(t::text, '|' ORDER BY t::text) FROM control_plane.tenants t),
      (SELECT string_agg(d::text, '|' ORDER BY d::text) FROM control_plane.tenant_databases d),
      (SELECT string_agg(p::text, '|' ORDER BY p::text) FROM control_plane.tenant_provisioning p),
      (SELECT string_agg(r::text, '|' ORDER BY r::text) FROM control_plane.fleet_runs r),
      (SELECT string_agg(m::text, '|' ORDER BY m::text) FROM control_plane.fleet_migrations m),
      (SELECT max(id)::text FROM control_plane.audit_events))) AS print`)
).pipe(Effect.map((rows) => rows[0]!.print))

const holds = makeHolds<Services>(() => runtime, fingerprint)

const anyString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", minLength: 60, maxLength: 300 }),
  fc.constantFrom("", " ", "acme", "system_admin", "tenant_", "x".repeat(70), "'; DROP TABLE x; --")
)
const anyValue = fc.oneof(
  anyString,
  fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, Number.NaN, Infinity, 65)),
  fc.anything({ withBigInt: true, withDate: true, withMap: true, withNullPrototype: true, stringUnit: "binary" })
)
const orAny = <A>(arbitrary: fc.Arbitrary<A>) => fc.oneof(arbitrary, anyValue)
const looseRecord = <T extends Record<string, fc.Arbitrary<unknown>>>(model: T) =>
  fc.oneof(fc.record(model, { requiredKeys: [] }), anyValue)
const any = <A>(value: A): never => value as never

const property = <A>(
  arbitrary: fc.Arbitrary<A>,
  allowed: ReadonlyArray<string>,
  call: (input: A) => Effect.Effect<unknown, unknown, Services>
) => fc.assert(fc.asyncProperty(arbitrary, (input) => holds(allowed, call(input))), { numRuns: 40 })

describe("Provisioning", () => {
  it("provision: refused without a write, whatever the input", () =>
    property(
      looseRecord({
        name: orAny(fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }).map((name) => `p-${name}`)),
        environment: orAny(fc.constantFrom("development", "staging", "production")),
        server: orAny(fc.oneof(fc.uuid(), fc.constant("nowhere"))),
        namePrefix: orAny(fc.stringMatching(/^[a-z][a-z0-9_]{0,40}$/))
      }),
      // Every refusal the signature declares but DbError (nothing here should fail in the database) and
      // ProvisioningFailed (no step that touches a server can be reached without a server).
      [
        "InvalidInput", "InvalidNamePrefix", "IdentifierTooLong", "PlacementRefused", "DatabaseServerNotFound", "TenantNameTaken",
        "TenantNotProvisioned", "TenantBeingDeprovisioned", "ProvisioningInProgress", "IllegalTransition", "SystemTenantProtected"
      ],
      (input) => Provisioning.use((service) => service.provision(any(input)))
    ))
  it("deprovision", () =>
    property(orAny(fc.uuid()), ["InvalidInput", "TenantNotFound", "TenantNotProvisioned"], (id) =>
      Provisioning.use((service) => service.deprovision(any(id)))))
})

describe("FleetMigrations", () => {
  const options = looseRecord({
    concurrency: orAny(fc.integer({ min: -1, max: 70 })),
    canary: orAny(fc.integer({ min: -2, max: 5 })),
    maxFailures: orAny(fc.integer({ min: -1, max: 3 }))
  })
  it("migrate, status", async () => {
    // A valid run over no database succeeds (and records its run): only refusals must write nothing.
    await property(options, ["InvalidInput"], (input) => FleetMigrations.use((service) => service.migrate(any(input))))
    await property(orAny(looseRecord({ concurrency: orAny(fc.integer({ min: -1, max: 70 })) })), ["InvalidInput"], (input) =>
      FleetMigrations.use((service) => service.status(any(input))))
  })
})
