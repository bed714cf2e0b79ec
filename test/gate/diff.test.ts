/**
 * `npm run db:diff`: the migration Atlas writes from a changed schema.hcl is
 * safe by default (lock_timeout, CONCURRENTLY in a txmode-none file), hashed,
 * and passes the gate; an unsafe change still fails it.
 */
import { readFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { atlas, atlasEnvName } from "../../cli/src/schema/atlas.ts"
import { atlasUrl, withScratchDatabase } from "../../cli/src/schema/database.ts"
import { generateMigration, InvalidMigrationName, makeSafe } from "../../cli/src/schema/diff.ts"
import { runGate } from "../../cli/src/schema/lint.ts"
import { adminUrl } from "../support/testDatabase.ts"
import { scratchProject, type ScratchProject } from "./scratch.ts"
import { script } from "./scripts.ts"

let scratch: ScratchProject | undefined

afterEach(async () => {
  await scratch?.remove()
  scratch = undefined
})

/** A scratch project whose schema.hcl got `edit` applied. */
const withSchemaChange = async (edit: (schema: string) => string): Promise<ScratchProject> => {
  scratch = await scratchProject("diff")
  const schemaFile = path.join(scratch.root, "schema.hcl")
  await writeFile(schemaFile, edit(await readFile(schemaFile, "utf8")))
  return scratch
}

const diff = (project: ScratchProject, name: string) =>
  generateMigration({ name, adminUrl: adminUrl(), directory: project.directory, desiredState: path.join(project.root, "schema.hcl") })

const addToTenants = (block: string) => (schema: string) =>
  schema.replace(`  index "idx_tenants_status" {`, `${block}\n\n  index "idx_tenants_status" {`)

describe("generateMigration", () => {
  it("an index on an existing table: CONCURRENTLY, txmode none, lock_timeout, hashed, and it passes the gate", async () => {
    const project = await withSchemaChange(addToTenants(`  index "idx_tenants_created_at" {\n    columns = [column.created_at]\n  }`))
    const result = await diff(project, "add_tenants_created_at_index")
    expect(result.written).toHaveLength(1)
    expect(result.written[0]).toMatch(/^\d{14}_add_tenants_created_at_index\.sql$/)
    expect(result.routines).toBeUndefined()
    const sql = await readFile(path.join(project.directory, result.written[0]!), "utf8")
    expect(sql.startsWith("-- atlas:txmode none\n\n")).toBe(true)
    expect(sql).toContain("SET lock_timeout = '5s';")
    expect(sql).toContain(`CREATE INDEX CONCURRENTLY "idx_tenants_created_at" ON "control_plane"."tenants" ("created_at");`)
    expect(await readFile(path.join(project.directory, "atlas.sum"), "utf8")).toContain(result.written[0])

    // atlas.sum is current and the file replays.
    await withScratchDatabase(adminUrl(), "cp_test_diff_dev", (dev) =>
      atlas(["migrate", "validate", "--env", atlasEnvName(), "--dir", `file://${project.directory}`], { ATLAS_DEV_URL: atlasUrl(dev.url) })
    )
    const report = await runGate({ directory: project.directory, selection: { kind: "latest", latest: 1 }, adminUrl: adminUrl() })
    expect(report.findings).toEqual([])
  })

  it("a nullable column: lock_timeout, in a transaction, passes the gate", async () => {
    const project = await withSchemaChange(
      addToTenants(`  column "note" {\n    null = true\n    type = text\n  }`)
    )
    const result = await diff(project, "add_note_to_tenants")
    const sql = await readFile(path.join(project.directory, result.written[0]!), "utf8")
    expect(sql).not.toContain("atlas:txmode")
    expect(sql).toMatch(/^-- .*\nSET lock_timeout = '5s';\n/)
    const report = await runGate({ directory: project.directory, selection: { kind: "latest", latest: 1 }, adminUrl: adminUrl() })
    expect(report.findings).toEqual([])
  })

  it("a NOT NULL column without a default is written, and the gate refuses it", async () => {
    const project = await withSchemaChange((schema) =>
      schema.replace(
        `  index "idx_tenant_databases_tenant_id" {`,
        `  column "region" {\n    null = false\n    type = text\n  }\n\n  index "idx_tenant_databases_tenant_id" {`
      )
    )
    await diff(project, "add_region_to_tenant_databases")
    const report = await runGate({ directory: project.directory, selection: { kind: "latest", latest: 1 }, adminUrl: adminUrl() })
    expect(report.findings.map((f) => `${f.source} ${f.rule}`).sort()).toEqual(["atlas MF103 (data_depend)", "squawk adding-required-field"])
  })

  it("writes nothing when migrations/ already matches schema.hcl", async () => {
    const project = await withSchemaChange((schema) => schema)
    const result = await diff(project, "nothing")
    expect(result.written).toEqual([])
  })

  it("refuses a name that is not lower_snake_case", async () => {
    const project = await withSchemaChange((schema) => schema)
    await expect(diff(project, "Add Index")).rejects.toBeInstanceOf(InvalidMigrationName)
  })
})

describe("makeSafe", () => {
  it("adds the txmode directive only once, and lock_timeout always", () => {
    const already = "-- atlas:txmode none\n\nDROP INDEX CONCURRENTLY x;\n"
    expect(makeSafe(already).match(/atlas:txmode none/g)).toHaveLength(1)
    expect(makeSafe("ALTER TABLE t ADD c int;\n")).toBe(
      "-- Give up instead of queueing every reader and writer behind a lock this file waits for.\nSET lock_timeout = '5s';\nALTER TABLE t ADD c int;\n"
    )
  })
})

describe("npm run db:diff", () => {
  it("exits 2 without a name or with a bad one, writing nothing", async () => {
    for (const args of [[], ["Bad-Name"], ["a", "b"]]) {
      const outcome = await script("diff", args)
      expect(outcome.code, args.join(" ")).toBe(2)
      expect(outcome.stderr).toMatch(/usage: npm run db:diff|must be lower-case/)
    }
  })
})
