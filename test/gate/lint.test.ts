/**
 * The migration gate on scratch copies of the project: each test adds one new
 * migration file and runs every check (the engine's migrate lint on a scratch
 * dev database, squawk, the lock_timeout probe, the marker checks) on it.
 */
import { afterEach, describe, expect, it } from "vitest"
import { migrationFiles } from "../../cli/src/schema/gate/changes.ts"
import { formatGateReport, runGate, type GateReport, type Selection } from "../../cli/src/schema/lint.ts"
import { projectFile } from "../../cli/src/schema/paths.ts"
import { runTools } from "../support/schemaTools.ts"
import { scratchProject, type ScratchProject } from "./scratch.ts"

const newFile = "20300101000000_change.sql"

let scratch: ScratchProject | undefined

afterEach(async () => {
  await scratch?.remove()
  scratch = undefined
})

/** Runs the gate on one new migration added to a fresh copy of migrations/. */
const gate = async (sql: string): Promise<GateReport> => {
  scratch = await scratchProject("lint")
  await scratch.add({ [newFile]: sql })
  return runTools(runGate({ kind: "latest", latest: 1 }), scratch.root)
}

/** `source rule` of every finding, sorted. */
const rules = (report: GateReport): ReadonlyArray<string> => report.findings.map((f) => `${f.source} ${f.rule}`).sort()

const lockTimeout = "SET lock_timeout = '5s';\n"

describe("the gate fails unsafe migrations, naming the rule", () => {
  it("a dropped column: engine DS103 and squawk ban-drop-column, with file, line and statement", async () => {
    const report = await gate(`${lockTimeout}ALTER TABLE "control_plane"."tenants" DROP COLUMN "created_at";\n`)
    expect(report.checked).toEqual([newFile])
    expect(rules(report)).toEqual(["engine DS103 (destructive)", "squawk ban-drop-column"])
    for (const f of report.findings) {
      expect(f.file).toBe(newFile)
      expect(f.line).toBe(2)
      expect(f.statement).toBe(`ALTER TABLE "control_plane"."tenants" DROP COLUMN "created_at";`)
    }
    const text = formatGateReport(report, "migrations")
    expect(text).toContain(`migrations/${newFile}`)
    expect(text).toContain(`L2  ALTER TABLE "control_plane"."tenants" DROP COLUMN "created_at";`)
    expect(text).toContain("engine DS103 (destructive): Dropping non-virtual column \"created_at\"")
    expect(text).toContain("failed: 2 violation(s) in 1 file(s)")
  })

  it("a dropped table: engine DS102 and squawk ban-drop-table", async () => {
    const report = await gate(`${lockTimeout}DROP TABLE "control_plane"."system_config";\n`)
    expect(rules(report)).toEqual(["engine DS102 (destructive)", "squawk ban-drop-table"])
  })

  it("a NOT NULL column without a default on an existing table: engine MF103 and squawk adding-required-field", async () => {
    const report = await gate(`${lockTimeout}ALTER TABLE "control_plane"."tenant_databases" ADD COLUMN "region" text NOT NULL;\n`)
    expect(rules(report)).toEqual(["engine MF103 (data_depend)", "squawk adding-required-field"])
  })

  it("a NOT NULL column on a table that has rows (the system_admin seed): the file does not even replay", async () => {
    const report = await gate(`${lockTimeout}ALTER TABLE "control_plane"."tenants" ADD COLUMN "region" text NOT NULL;\n`)
    expect(rules(report)).toEqual(["engine RP101 (replay)", "squawk adding-required-field"])
    expect(report.findings.find((f) => f.source === "engine")!.message).toContain(`column "region" of relation "tenants" contains null values`)
  })

  it("an index on an existing table built without CONCURRENTLY: engine PG101 and squawk require-concurrent-index-creation", async () => {
    const report = await gate(`${lockTimeout}CREATE INDEX "idx_tenants_created_at" ON "control_plane"."tenants" ("created_at");\n`)
    expect(rules(report)).toEqual(["engine PG101 (concurrent_index)", "squawk require-concurrent-index-creation"])
  })

  it("CONCURRENTLY in a file that runs in a transaction: engine PG103, squawk, and the file does not even apply", async () => {
    const report = await gate(`${lockTimeout}CREATE INDEX CONCURRENTLY "idx_tenants_created_at" ON "control_plane"."tenants" ("created_at");\n`)
    expect(rules(report)).toEqual([
      "engine PG103 (concurrent_index)",
      "gate replay",
      "squawk ban-concurrent-index-creation-in-transaction"
    ])
  })

  it("a statement on a table of an earlier migration without lock_timeout: require-lock-timeout names the table", async () => {
    const report = await gate(`ALTER TABLE "control_plane"."tenants" ADD COLUMN "note" text NULL;\n`)
    expect(rules(report)).toEqual(["gate require-lock-timeout"])
    expect(report.findings[0]!.message).toContain("control_plane.tenants (AccessExclusiveLock)")
    expect(report.findings[0]!.line).toBe(1)
  })

  it("lock_timeout must come before the statement, not after it", async () => {
    const report = await gate(`ALTER TABLE "control_plane"."tenants" ADD COLUMN "note" text NULL;\n${lockTimeout}`)
    expect(rules(report)).toEqual(["gate require-lock-timeout"])
  })

  it("a trigger on an existing table also needs lock_timeout (it takes SHARE ROW EXCLUSIVE)", async () => {
    const report = await gate(
      `CREATE OR REPLACE TRIGGER "t" BEFORE UPDATE ON "control_plane"."tenants" FOR EACH ROW EXECUTE FUNCTION "control_plane"."update_updated_at_column"();\n`
    )
    expect(rules(report)).toEqual(["gate require-lock-timeout"])
    expect(report.findings[0]!.message).toContain("ShareRowExclusiveLock")
  })
})

describe("the gate passes safe migrations", () => {
  it("a plain additive migration: lock_timeout, a nullable column, a new table and its index", async () => {
    const report = await gate(
      [
        lockTimeout.trim(),
        `ALTER TABLE "control_plane"."tenants" ADD COLUMN "note" text NULL;`,
        `CREATE TABLE "control_plane"."audit_log" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "event" text NOT NULL, "at" timestamptz NOT NULL DEFAULT now(), PRIMARY KEY ("id"));`,
        `CREATE INDEX "idx_audit_log_at" ON "control_plane"."audit_log" ("at");`,
        ""
      ].join("\n")
    )
    expect(report.findings).toEqual([])
    expect(formatGateReport(report, "migrations")).toContain("passed: 1 file(s), no findings")
  })

  it("a new table alone needs no lock_timeout: nothing existing is locked", async () => {
    const report = await gate(`CREATE TABLE "control_plane"."notes" ("id" uuid NOT NULL, PRIMARY KEY ("id"));\n`)
    expect(report.findings).toEqual([])
  })

  it("an index built CONCURRENTLY in a file with `-- atlas:txmode none`", async () => {
    const report = await gate(
      `-- atlas:txmode none\n\n${lockTimeout}CREATE INDEX CONCURRENTLY "idx_tenants_created_at" ON "control_plane"."tenants" ("created_at");\n`
    )
    expect(report.findings).toEqual([])
  })
})

describe("exception markers", () => {
  it("markers that name the rule and give a reason let a dropped column through", async () => {
    const report = await gate(
      [
        lockTimeout.trim(),
        "-- atlas:nolint DS103 -- created_at was copied to tenant_history in the migration before this one",
        "-- squawk-ignore ban-drop-column -- created_at was copied to tenant_history in the migration before this one",
        `ALTER TABLE "control_plane"."tenants" DROP COLUMN "created_at";`,
        ""
      ].join("\n")
    )
    expect(report.findings).toEqual([])
  })

  it("markers without a reason are rejected, though the tools would honour them", async () => {
    const report = await gate(
      [
        lockTimeout.trim(),
        "-- atlas:nolint DS103",
        "-- squawk-ignore ban-drop-column",
        `ALTER TABLE "control_plane"."tenants" DROP COLUMN "created_at";`,
        ""
      ].join("\n")
    )
    expect(rules(report)).toEqual(["gate marker-without-reason", "gate marker-without-reason"])
    expect(report.findings.map((f) => f.line)).toEqual([2, 3])
  })

  it("a lock_timeout exception is squawk's ignore comment with a reason", async () => {
    const report = await gate(
      [
        "-- squawk-ignore require-lock-timeout -- nothing reads the tenants table before the control plane starts",
        `ALTER TABLE "control_plane"."tenants" ADD COLUMN "note" text NULL;`,
        ""
      ].join("\n")
    )
    expect(report.findings).toEqual([])
  })
})

describe("the project's own migrations", () => {
  const ownGate = (selection: Selection) => runTools(runGate(selection))

  it("the newest passes the gate, as .ci/run checks it in a fresh clone", async () => {
    const report = await ownGate({ kind: "latest", latest: 1 })
    expect(report.checked).toHaveLength(1)
    expect(report.findings).toEqual([])
  })

  it("all of them pass the gate", async () => {
    const report = await ownGate({ kind: "all" })
    expect(report.checked).toEqual(await runTools(migrationFiles(projectFile("migrations"))))
    expect(report.findings).toEqual([])
  })
})
