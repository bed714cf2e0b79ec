/**
 * Drift detection: a migrated database changed by hand is told apart from the
 * desired state (schema.hcl and routines.hcl), naming what changed; an
 * untouched one is not.
 */
import { sql } from "@databases/pg"
import { Redacted } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { detectDrift as detectDriftEffect, formatDriftReport, hasDrift } from "../../cli/src/schema/drift.ts"
import { expectOneErrorLine } from "../cli/harness.ts"
import { dbCli, runTools } from "../support/schemaTools.ts"
import { createMigratedTestDatabase, type TestDatabase, withConnection } from "../support/testDatabase.ts"

const detectDrift = (url: string) => runTools(detectDriftEffect(Redacted.make(url)))
const runSql = (url: string, script: string) => withConnection(url, (db) => db.query(sql.__dangerous__rawValue(script)))

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
    expect(report).toEqual({ database: database.name, tableChanges: [], routines: [] })
    expect(formatDriftReport(report)).toBe(`no drift: database "${database.name}" matches schema.hcl and routines.hcl`)
  })

  it("an altered column is named, with the statement that would restore it", async () => {
    const database = await migrated("column", `ALTER TABLE control_plane.tenants ALTER COLUMN name TYPE varchar(100)`)
    const report = await detectDrift(database.url)
    expect(hasDrift(report)).toBe(true)
    expect(report.tableChanges.map((c) => c.sql).join("\n")).toContain(`ALTER TABLE "control_plane"."tenants" ALTER COLUMN "name" TYPE character varying(255)`)
    expect(report.routines).toEqual([])
  })

  it("a dropped index is named", async () => {
    const database = await migrated("index", `DROP INDEX control_plane.idx_tenant_databases_status`)
    const report = await detectDrift(database.url)
    const plan = report.tableChanges.map((c) => c.sql).join("\n")
    expect(plan).toContain(`"idx_tenant_databases_status"`)
    expect(plan).toContain(`CREATE INDEX`)
    expect(report.routines).toEqual([])
  })

  it("a dropped trigger is named, though the engine does not inspect triggers", async () => {
    const database = await migrated(
      "trigger",
      `DROP TRIGGER update_tenants_updated_at ON control_plane.tenants;
       DROP TRIGGER notify_tenant_databases_change ON control_plane.tenant_databases;
       DROP TRIGGER enforce_tenants_truncate ON control_plane.tenants;`
    )
    const report = await detectDrift(database.url)
    expect(report.tableChanges).toEqual([])
    const missing = (name: string) => ({ kind: "trigger", name, problem: "missing", expectedOnly: [], actualOnly: [] })
    expect(report.routines).toEqual([
      missing("tenant_databases.notify_tenant_databases_change"),
      missing("tenants.enforce_tenants_truncate"),
      missing("tenants.update_tenants_updated_at")
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
    expect(report.tableChanges.map((c) => c.sql).join("\n")).toContain(`"idx_audit_events_tenant_id"`)
    expect(report.routines.map((r) => `${r.kind} ${r.name} ${r.problem}`)).toEqual([
      "trigger audit_events.audit_events_guard different",
      "trigger tenants.audit_tenants missing"
    ])
  })
})

describe("control-plane db drift", () => {
  it("exits 0 on a clean database and 1 on drift, never printing DATABASE_URL", async () => {
    const clean = await migrated("cli_clean")
    const drifted = await migrated("cli_drifted", `DROP INDEX control_plane.idx_tenants_status`)
    // Trust authentication ignores the password: it is there to prove it is never printed.
    const withPassword = (url: string) => url.replace("postgres@", "postgres:s3cret-pw@")

    // The harness checks every output for the URL and the password.
    const ok = await dbCli({ DATABASE_URL: withPassword(clean.url) }, ["s3cret-pw"]).run(["db", "drift"])
    expect(ok.stdout).toContain(`no drift: database "${clean.name}"`)
    expect(ok.code).toBe(0)

    const bad = await dbCli({ DATABASE_URL: withPassword(drifted.url) }, ["s3cret-pw"]).run(["db", "drift"])
    expect(bad.code).toBe(1)
    expect(bad.stdout).toContain(`"idx_tenants_status"`)
    expectOneErrorLine(bad, 1, /has drifted from the desired state/)
  })

  it("exits 2 without DATABASE_URL", async () => {
    expectOneErrorLine(await dbCli().run(["db", "drift"]), 2, /DATABASE_URL is not set/)
  })
})
