/**
 * `db diff` (`npm run db:diff`): the migration the engine writes from a
 * changed schema.hcl is safe by default (lock_timeout, CONCURRENTLY in a
 * txmode-none file), hashed, and passes the gate; an unsafe change still
 * fails it.
 */
import { Effect } from "effect"
import { readFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { Engine } from "../../cli/src/engine/Engine.ts"
import { generateMigration, makeSafe } from "../../cli/src/schema/diff.ts"
import { runGate } from "../../cli/src/schema/lint.ts"
import { SchemaProject } from "../../cli/src/schema/Project.ts"
import { ScratchDatabase } from "../../cli/src/schema/ScratchDatabase.ts"

import { dbCli, runTools } from "../support/schemaTools.ts"
import { scratchProject, type ScratchProject } from "./scratch.ts"

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

const diff = (project: ScratchProject, name: string) => runTools(generateMigration(name), project.root)

const gateLatest = (project: ScratchProject) => runTools(runGate({ kind: "latest", latest: 1 }), project.root)

/** atlas.sum is current and every file replays (the engine's migrate validate). */
const validate = (project: ScratchProject) =>
  runTools(
    Effect.gen(function*() {
      const engine = yield* Engine
      const scratch = yield* ScratchDatabase
      const dev = yield* scratch.make("cp_test_diff_dev")
      return yield* engine.migrateValidate(yield* SchemaProject, { devUrl: dev.url })
    }).pipe(Effect.scoped),
    project.root
  )

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

    expect(await validate(project)).toMatchObject({ valid: true })
    const report = await gateLatest(project)
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
    const report = await gateLatest(project)
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
    const report = await gateLatest(project)
    expect(report.findings.map((f) => `${f.source} ${f.rule}`).sort()).toEqual(["engine MF103 (data_depend)", "squawk adding-required-field"])
  })

  it("writes nothing when migrations/ already matches schema.hcl", async () => {
    const project = await withSchemaChange((schema) => schema)
    const result = await diff(project, "nothing")
    expect(result.written).toEqual([])
  })

  it("refuses a name that is not lower_snake_case", async () => {
    const project = await withSchemaChange((schema) => schema)
    const error = await runTools(Effect.flip(generateMigration("Add Index")), project.root)
    expect(error._tag).toBe("InvalidMigrationName")
  })
})

describe("makeSafe", () => {
  it("keeps the txmode directive first, and adds lock_timeout always", () => {
    const already = "-- atlas:txmode none\n\nDROP INDEX CONCURRENTLY x;\n"
    expect(makeSafe(already)).toBe(
      "-- atlas:txmode none\n\n-- Give up instead of queueing every reader and writer behind a lock this file waits for.\nSET lock_timeout = '5s';\nDROP INDEX CONCURRENTLY x;\n"
    )
    expect(makeSafe("ALTER TABLE t ADD c int;\n")).toBe(
      "-- Give up instead of queueing every reader and writer behind a lock this file waits for.\nSET lock_timeout = '5s';\nALTER TABLE t ADD c int;\n"
    )
  })
})

describe("control-plane db diff", () => {
  it("exits 2 without a name or with a bad one, with one error line, writing nothing", async () => {
    const project = await withSchemaChange((schema) => schema)
    const before = await readFile(path.join(project.directory, "atlas.sum"), "utf8")
    const cli = dbCli()
    for (const args of [[], ["Bad-Name"], ["a", "b"]]) {
      const outcome = await cli.run(["db", "diff", ...args, "--config", path.join(project.root, "atlas.hcl")])
      expect(outcome.code, args.join(" ")).toBe(2)
      expect(outcome.stderr.trim().split("\n")).toHaveLength(1)
      expect(outcome.stderr).toMatch(/^error: .*(name|argument)/i)
    }
    expect(await readFile(path.join(project.directory, "atlas.sum"), "utf8")).toBe(before)
  })
})
