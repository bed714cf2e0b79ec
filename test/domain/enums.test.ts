/**
 * The enums of src/domain/enums.ts against the migrated database: the same
 * types, the same labels, in the same order (pg_enum.enumsortorder), and the
 * same unions as the generated row types.
 */
import { assert, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Db, sql } from "../../src/db/Db.ts"
import type * as Generated from "../../src/db/generated/_enums.ts"
import {
  DatabaseStatus,
  databaseStatuses,
  FleetMigrationStatus,
  fleetMigrationStatuses,
  FleetRunStatus,
  fleetRunStatuses,
  ProvisioningStep,
  provisioningSteps,
  ServerStatus,
  serverStatuses,
  TenantEnvironment,
  tenantEnvironments,
  TenantStatus,
  tenantStatuses
} from "../../src/domain/enums.ts"
import { testDbLayer } from "../db/testDb.ts"

// Compile-time: each domain enum is exactly the generated union (order aside).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const sameAsGenerated: [
  Same<TenantEnvironment, Generated.TenantEnvironment>,
  Same<TenantStatus, Generated.TenantStatus>,
  Same<DatabaseStatus, Generated.DatabaseStatus>,
  Same<ServerStatus, Generated.ServerStatus>,
  Same<ProvisioningStep, Generated.ProvisioningStep>,
  Same<FleetRunStatus, Generated.FleetRunStatus>,
  Same<FleetMigrationStatus, Generated.FleetMigrationStatus>
] = [true, true, true, true, true, true, true]

it.layer(testDbLayer("enums"), { timeout: "120 seconds" })("domain enums", (it) => {
  it.effect("match the database's enum types, labels and order", () =>
    Effect.gen(function*() {
      const db = yield* Db
      const rows = yield* db.query<{ type: string; labels: Array<string> }>(sql`
        SELECT t.typname AS type, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
        FROM pg_enum e
        JOIN pg_type t ON t.oid = e.enumtypid
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'control_plane'
        GROUP BY t.typname
        ORDER BY t.typname`)
      assert.deepStrictEqual(rows, [
        { type: "database_status", labels: [...databaseStatuses] },
        { type: "fleet_migration_status", labels: [...fleetMigrationStatuses] },
        { type: "fleet_run_status", labels: [...fleetRunStatuses] },
        { type: "provisioning_step", labels: [...provisioningSteps] },
        { type: "server_status", labels: [...serverStatuses] },
        { type: "tenant_environment", labels: [...tenantEnvironments] },
        { type: "tenant_status", labels: [...tenantStatuses] }
      ])
      assert.deepStrictEqual(sameAsGenerated, [true, true, true, true, true, true, true])
    }))
})

it("the schemas accept exactly their labels", () => {
  for (const [schema, labels] of [
    [TenantEnvironment, tenantEnvironments],
    [TenantStatus, tenantStatuses],
    [DatabaseStatus, databaseStatuses],
    [ServerStatus, serverStatuses],
    [ProvisioningStep, provisioningSteps],
    [FleetRunStatus, fleetRunStatuses],
    [FleetMigrationStatus, fleetMigrationStatuses]
  ] as const) {
    for (const label of labels) assert.isTrue(Schema.is(schema)(label))
    assert.isFalse(Schema.is(schema)("Active"))
    assert.isFalse(Schema.is(schema)(""))
  }
})
