/**
 * Drift detection: a migrated database changed by hand is told apart from the
 * desired state (schema.hcl and routines.hcl), naming what changed; an
 * untouched one is not.
 */
import { afterEach, describe, expect, it } from "vitest"
import { runSql } from "../../cli/src/schema/database.ts"
import { detectDrift, formatDriftReport, hasDrift } from "../../cli/src/schema/drift.ts"
import { createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"
import { script } from "./scripts.ts"

const databases: Array<TestDatabase> = []

afterEach(async () => {
  await Promise.all(databases.splice(0).map((database) => database.drop()))
})

/** A freshly migrated database, changed by `change` (SQL run by hand). */
const migrated = async (label: string, change?: string): Promise<TestDatabase> => {
  const database = await createMigratedTestDatabase(`drift_${label}`)
  databases.push(database)
  if (change !== undefined) await runSql(database.url, change)
  return database
}

describe("detectDrift", () => {
  it("a freshly migrated database has no drift", async () => {
    const database = await migrated("clean")
    const report = await detectDrift(database.url)
    expect(report).toEqual({ database: database.name, tablePlan: "", routines: [] })
    expect(formatDriftReport(report)).toBe(`no drift: database "${database.name}" matches schema.hcl and routines.hcl`)
  })

  it("an altered column is named, with the statement that would restore it", async () => {
    const database = await migrated("column", `ALTER TABLE control_plane.tenants ALTER COLUMN name TYPE varchar(100)`)
    const report = await detectDrift(database.url)
    expect(hasDrift(report)).toBe(true)
    expect(report.tablePlan).toContain(`ALTER TABLE "control_plane"."tenants" ALTER COLUMN "name" TYPE character varying(255)`)
    expect(report.routines).toEqual([])
  })

  it("a dropped index is named", async () => {
    const database = await migrated("index", `DROP INDEX control_plane.idx_tenant_databases_status`)
    const report = await detectDrift(database.url)
    expect(report.tablePlan).toContain(`"idx_tenant_databases_status"`)
    expect(report.tablePlan).toContain(`CREATE INDEX`)
    expect(report.routines).toEqual([])
  })

  it("a dropped trigger is named, though Atlas's community build cannot see triggers", async () => {
    const database = await migrated("trigger", `DROP TRIGGER update_tenants_updated_at ON control_plane.tenants`)
    const report = await detectDrift(database.url)
    expect(report.tablePlan).toBe("")
    expect(report.routines).toEqual([
      { kind: "trigger", name: "tenants.update_tenants_updated_at", problem: "missing", expectedOnly: [], actualOnly: [] }
    ])
    expect(formatDriftReport(report)).toContain("trigger control_plane.tenants.update_tenants_updated_at: missing from the database")
  })

  it("a changed function body, a disabled trigger and an extra trigger are named", async () => {
    const database = await migrated(
      "routines",
      `CREATE OR REPLACE FUNCTION control_plane.update_updated_at_column() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$;
       ALTER TABLE control_plane.system_config DISABLE TRIGGER update_system_config_updated_at;
       CREATE TRIGGER audit BEFORE INSERT ON control_plane.tenants FOR EACH ROW EXECUTE FUNCTION control_plane.update_updated_at_column();`
    )
    const report = await detectDrift(database.url)
    expect(report.routines.map((r) => `${r.kind} ${r.name} ${r.problem}`)).toEqual([
      "function update_updated_at_column() different",
      "trigger system_config.update_system_config_updated_at different",
      "trigger tenants.audit unexpected"
    ])
    expect(report.routines[0]!.expectedOnly).toContain("  NEW.updated_at = now();")
  })

  it("the audit trail is watched too: a disabled guard, a dropped recording trigger and a dropped index are named", async () => {
    const database = await migrated(
      "audit",
      `ALTER TABLE control_plane.audit_events DISABLE TRIGGER audit_events_guard;
       DROP TRIGGER audit_tenants ON control_plane.tenants;
       DROP INDEX control_plane.idx_audit_events_tenant_id;`
    )
    const report = await detectDrift(database.url)
    expect(report.tablePlan).toContain(`"idx_audit_events_tenant_id"`)
    expect(report.routines.map((r) => `${r.kind} ${r.name} ${r.problem}`)).toEqual([
      "trigger audit_events.audit_events_guard different",
      "trigger tenants.audit_tenants missing"
    ])
  })
})

describe("npm run db:drift", () => {
  it("exits 0 on a clean database and 1 on drift, never printing DATABASE_URL", async () => {
    const clean = await migrated("cli_clean")
    const drifted = await migrated("cli_drifted", `DROP INDEX control_plane.idx_tenants_status`)
    // Trust authentication ignores the password: it is there to prove it is never printed.
    const withPassword = (url: string) => url.replace("postgres@", "postgres:s3cret-pw@")

    const ok = await script("drift", [], { DATABASE_URL: withPassword(clean.url) })
    expect(ok.stdout).toContain(`no drift: database "${clean.name}"`)
    expect(ok.code).toBe(0)

    const bad = await script("drift", [], { DATABASE_URL: withPassword(drifted.url) })
    expect(bad.code).toBe(1)
    expect(bad.stdout).toContain(`"idx_tenants_status"`)
    expect(bad.stderr).toContain("has drifted from the desired state")
    for (const output of [ok.stdout, ok.stderr, bad.stdout, bad.stderr]) {
      expect(output).not.toContain("s3cret-pw")
      expect(output).not.toContain("postgres://")
    }
  })

  it("exits 2 without DATABASE_URL", async () => {
    const outcome = await script("drift", [], { DATABASE_URL: undefined })
    expect(outcome.code).toBe(2)
    expect(outcome.stderr).toContain("DATABASE_URL is not set")
  })
})
