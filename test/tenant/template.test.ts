/**
 * The tenant template (tenant/) is schema as code like the control plane's,
 * through the same tools pointed at its project (`--config tenant/atlas.hcl`):
 * the migration gate lints its migrations, and both paths build the same
 * database from it — versioned (the engine's migrate apply of
 * tenant/migrations, then the seeds, as provisioning runs them) and
 * declarative (the engine's schema apply of tenant/schema.hcl, the routines
 * rendered from tenant/routines.hcl, then the seeds) — and the schema it
 * describes does what it says.
 */
import { readdir, readFile } from "node:fs/promises"
import path from "node:path"
import { sql } from "@databases/pg"
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Engine } from "../../cli/src/engine/Engine.ts"
import { applyDesiredState } from "../../cli/src/schema/apply.ts"
import { detectDrift, hasDrift } from "../../cli/src/schema/drift.ts"
import { runGate } from "../../cli/src/schema/lint.ts"
import { SchemaProject } from "../../cli/src/schema/Project.ts"
import { renderRoutinesMigration, routinesMigrationSuffix } from "../../cli/src/schema/routines.ts"
import { ScratchDatabase } from "../../cli/src/schema/ScratchDatabase.ts"
import { TenantSchema, tenantProjectRoot } from "../../cli/src/fleet/TenantSchema.ts"
import { runTools } from "../support/schemaTools.ts"
import { createTestDatabase, type TestDatabase, withConnection } from "../support/testDatabase.ts"

/** Runs a schema-tools effect on the tenant template's project. */
const onTemplate = <A, E>(effect: Parameters<typeof runTools<A, E>>[0]) => runTools(effect, tenantProjectRoot)

/** Everything the public schema holds, as sorted text: what both paths must agree on. */
const catalogOf = (url: string) =>
  withConnection(url, async (db) => {
    const lines = async (query: ReturnType<typeof sql>) => (await db.query(query)).map((row) => row.line as string).sort()
    return {
      columns: await lines(sql`
        SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull
               || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || ' comment=' || coalesce(col_description(c.oid, a.attnum), '') AS line
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped`),
      tables: await lines(sql`
        SELECT c.relname || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '') AS line
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'`),
      constraints: await lines(sql`
        SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS line
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace`),
      indexes: await lines(sql`SELECT indexdef AS line FROM pg_indexes WHERE schemaname = 'public'`),
      triggers: await lines(sql`
        SELECT pg_get_triggerdef(t.oid) AS line FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal`),
      functions: await lines(sql`
        SELECT p.proname || ' ' || pg_get_function_result(p.oid) || ' ' || p.prosrc AS line
        FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace`),
      enums: await lines(sql`
        SELECT t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) AS line
        FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid WHERE t.typnamespace = 'public'::regnamespace GROUP BY t.typname`),
      rows: await lines(sql`SELECT name AS line FROM public.projects`)
    }
  })

let versioned: TestDatabase
let declarative: TestDatabase

beforeAll(async () => {
  ;[versioned, declarative] = await Promise.all([createTestDatabase("tenant_versioned"), createTestDatabase("tenant_declarative")])
  // Versioned path: the reviewed files, then the seeds, through TenantSchema (what provisioning runs).
  await Effect.runPromise(
    Effect.flatMap(TenantSchema, (template) =>
      Effect.gen(function*() {
        yield* template.migrate(Redacted.make(versioned.url))
        yield* template.seed(Redacted.make(versioned.url))
      })).pipe(Effect.provide(TenantSchema.layerAt(tenantProjectRoot)))
  )
  // Declarative path: plan tenant/schema.hcl, then its routines and seeds (`db apply --config tenant/atlas.hcl`).
  const applied = await onTemplate(applyDesiredState(Redacted.make(declarative.url)))
  expect(applied.changes.length).toBeGreaterThan(0)
  expect(applied.seeds).toEqual(["001_default_project.sql"])
})

afterAll(async () => {
  await Promise.all([versioned?.drop(), declarative?.drop()])
})

describe("tenant template", () => {
  it("passes the migration gate (engine lint, squawk, lock timeouts, markers) on every file", async () => {
    const report = await onTemplate(runGate({ kind: "all" }))
    expect(report.checked.length).toBeGreaterThanOrEqual(2)
    expect(report.findings).toEqual([])
  })

  it("both paths build the same database: tables, columns, constraints, indexes, triggers, functions, enums, seeds", async () => {
    const [a, b] = await Promise.all([catalogOf(versioned.url), catalogOf(declarative.url)])
    expect(a.tables.map((t) => t.split(" ")[0])).toEqual(["members", "projects"])
    expect(a.triggers).toHaveLength(2)
    expect(a.rows).toEqual(["Default"])
    expect(b).toEqual(a)
  })

  it("the versioned database does not drift from tenant/schema.hcl and tenant/routines.hcl", async () => {
    const report = await onTemplate(detectDrift(Redacted.make(versioned.url)))
    expect(hasDrift(report)).toBe(false)
  })

  it("atlas.sum matches the files and every file replays (the engine's migrate validate)", async () => {
    const validated = await onTemplate(
      Effect.scoped(Effect.gen(function*() {
        const dev = yield* (yield* ScratchDatabase).make("cp_tenant_dev")
        return yield* (yield* Engine).migrateValidate(yield* SchemaProject, { devUrl: dev.url })
      }))
    )
    expect(validated).toMatchObject({ valid: true })
  })

  it("the routines migration is exactly tenant/routines.hcl rendered", async () => {
    const files = (await readdir(path.join(tenantProjectRoot, "migrations"))).filter((f) => f.endsWith(routinesMigrationSuffix)).sort()
    expect(files.length).toBeGreaterThan(0)
    expect(await readFile(path.join(tenantProjectRoot, "migrations", files.at(-1)!), "utf8")).toBe(
      await runTools(renderRoutinesMigration(tenantProjectRoot))
    )
  })

  it("does what it says: updated_at follows every update, members belong to projects and go with them, roles are an enum", async () => {
    await withConnection(versioned.url, async (db) => {
      const [project] = await db.query(sql`INSERT INTO projects (name) VALUES ('Apollo') RETURNING id`)
      await db.query(sql`INSERT INTO members (project_id, email) VALUES (${project.id}, 'ada@example.com')`)
      const [bumped] = await db.query(sql`
        UPDATE projects SET name = 'Apollo 11', updated_at = '2000-01-01' WHERE id = ${project.id} RETURNING updated_at, now() AS now`)
      expect(bumped.updated_at.getTime()).toBe(bumped.now.getTime())
      const [member] = await db.query(sql`SELECT role::text FROM members WHERE project_id = ${project.id}`)
      expect(member.role).toBe("member")
      await expect(db.query(sql`INSERT INTO members (project_id, email) VALUES (${project.id}, 'ada@example.com')`)).rejects.toMatchObject({
        code: "23505"
      })
      await expect(db.query(sql`INSERT INTO members (project_id, email, role) VALUES (${project.id}, 'bob@example.com', 'boss')`)).rejects
        .toMatchObject({ code: "22P02" })
      await db.query(sql`DELETE FROM projects WHERE id = ${project.id}`)
      const [left] = await db.query(sql`SELECT count(*)::int AS n FROM members WHERE project_id = ${project.id}`)
      expect(left.n).toBe(0)
    })
  })
})
