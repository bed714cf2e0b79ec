/**
 * What the fleet migration tests share: a scratch tenant template with three
 * more migrations, and a control plane of the test's own with provisioned
 * tenants (a fleet run takes every tenant database of its control plane).
 *
 * The added migrations log themselves into a table, so a version applied
 * twice shows as a second log row; one of them fails in a "poisoned" tenant
 * (one that has a project named poison), so failures can be placed.
 */
import { fileURLToPath } from "node:url"
import { Effect, Layer } from "effect"
import type { KeyRing } from "../../src/crypto/KeyRing.ts"
import { sql } from "../../src/db/Db.ts"
import { ConnectionBudget } from "../../cli/src/fleet/ConnectionBudget.ts"
import { FleetMigrations } from "../../cli/src/fleet/FleetMigrations.ts"
import { Provisioning } from "../../cli/src/fleet/Provisioning.ts"
import { TenantSchema } from "../../cli/src/fleet/TenantSchema.ts"
import { adminUrl, createMigratedTestDatabase, withConnection } from "../support/testDatabase.ts"
import { addLocalServer, controlPlaneRows, Fixture, libraryOn, locksOn, provisioningOn, tenantName } from "./support.ts"

export const added = [
  {
    name: "create_applied_log",
    sql: `CREATE TABLE "public"."applied_log" ("migration" text NOT NULL, "at" timestamptz NOT NULL DEFAULT now());
INSERT INTO "public"."applied_log" ("migration") VALUES ('m1');
`
  },
  {
    name: "refuse_poisoned_tenants",
    sql: `DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM "public"."projects" WHERE "name" = 'poison') THEN
    RAISE EXCEPTION 'this tenant is poisoned';
  END IF;
END $$;
INSERT INTO "public"."applied_log" ("migration") VALUES ('m2');
`
  },
  {
    name: "log_slowly",
    sql: `INSERT INTO "public"."applied_log" ("migration") VALUES ('m3');
SELECT pg_sleep(0.2);
`
  }
]

export const fleetFixture = fileURLToPath(new URL("./fixtures/fleetMigrate.ts", import.meta.url))

/** A database of the tenant, as the server's admin (superuser) sees it. */
export const asAdmin = (database: string) => {
  const url = new URL(adminUrl())
  url.pathname = `/${database}`
  return url.toString()
}

/** What the tenant database says it went through: its revision versions and the log rows of the added migrations. */
export const historyOf = (database: string) =>
  Effect.promise(() =>
    withConnection(asAdmin(database), async (db) => {
      const revisions = await db.query(sql`SELECT version FROM atlas_schema_revisions.atlas_schema_revisions ORDER BY version`)
      const logged = await db.query(sql`SELECT to_regclass('public.applied_log') IS NOT NULL AS exists`)
      const log = logged[0].exists
        ? await db.query(sql`SELECT migration FROM public.applied_log ORDER BY migration`)
        : []
      return { revisions: revisions.map((r) => r.version as string), log: log.map((r) => r.migration as string) }
    })
  )

/**
 * `count` tenants provisioned on the control plane at `url` (at the template's
 * current version, the local server registered first), the tenants named in
 * `poisoned` given a project named poison; gives the layers for fleet runs
 * with `template` and the tenants' databases in queue order.
 */
export const provisionedFleet = (
  url: string,
  ring: KeyRing,
  prefix: string,
  label: string,
  count: number,
  template: string,
  poisoned: ReadonlyArray<number> = [],
  budget: Layer.Layer<ConnectionBudget> = ConnectionBudget.layerOf(16)
) =>
  Effect.gen(function*() {
    const provisioning = provisioningOn(url, ring, 8)
    const tenants = yield* Effect.gen(function*() {
      yield* addLocalServer("local", 1000)
      const service = yield* Provisioning
      const provisioned = yield* Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) =>
        service.provision({ name: tenantName(`${label}-${i}`), environment: "development", namePrefix: prefix }), {
        concurrency: 4
      })
      // In the order a fleet run queues them (all are development tenants: by creation).
      const order = yield* Effect.promise(() =>
        controlPlaneRows<{ id: string }>(
          url,
          sql`SELECT d.id FROM control_plane.tenant_databases d JOIN control_plane.tenants t USING (tenant_id)
              ORDER BY t.environment, t.created_at, d.created_at, d.id`
        )
      )
      return order.map(({ id }) => provisioned.find((p) => p.database.id === id)!)
    }).pipe(Effect.provide(provisioning))
    for (const i of poisoned) {
      yield* Effect.promise(() =>
        withConnection(asAdmin(tenants[i]!.database.databaseName), (db) =>
          db.query(sql`INSERT INTO public.projects (name) VALUES ('poison')`)))
    }
    const fleet = FleetMigrations.layerNoDeps.pipe(
      Layer.provideMerge(Layer.mergeAll(TenantSchema.layerAt(template), budget, locksOn(url))),
      Layer.provideMerge(libraryOn(url, ring))
    )
    return { fleet, tenants }
  })

/** A control plane of the test's own (dropped with the scope) with a provisioned fleet (provisionedFleet). */
export const fleetOf = (
  label: string,
  count: number,
  template: string,
  poisoned: ReadonlyArray<number> = [],
  budget: Layer.Layer<ConnectionBudget> = ConnectionBudget.layerOf(16)
) =>
  Effect.gen(function*() {
    const { keyRing, prefix } = yield* Fixture
    const controlPlane = yield* Effect.acquireRelease(
      Effect.promise(() => createMigratedTestDatabase(`fleet_${label}`)),
      (database) => Effect.promise(() => database.drop())
    )
    const { fleet, tenants } = yield* provisionedFleet(controlPlane.url, keyRing.ring, prefix, label, count, template, poisoned, budget)
    return { controlPlane, fleet, tenants, env: { DATABASE_URL: controlPlane.url, ...keyRing.env } }
  })

export interface LedgerRow {
  readonly database_id: string
  readonly status: string
  readonly version_before: string | null
  readonly version_after: string | null
  readonly applied: number
  readonly attempts: number
  readonly canary: boolean
  readonly error: string | null
  readonly position: number
}

export const ledgerOf = (url: string) =>
  Effect.promise(() =>
    controlPlaneRows<LedgerRow & { run_id: string }>(
      url,
      sql`SELECT run_id, database_id, status::text, version_before, version_after, applied, attempts, canary, error, position
          FROM control_plane.fleet_migrations ORDER BY run_id, position`
    )
  )

export const databaseStatuses = (url: string) =>
  Effect.promise(() =>
    controlPlaneRows<{ id: string; status: string }>(url, sql`SELECT id, status::text FROM control_plane.tenant_databases`)
  ).pipe(Effect.map((rows) => new Map(rows.map((r) => [r.id, r.status]))))
