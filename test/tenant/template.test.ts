/**
 * The tenant template (tenant/) is schema as code like the control plane's:
 * the migration gate lints its migrations, and both paths build the same
 * database from it — versioned (the engine's migrate apply of
 * tenant/migrations, then the seeds) and declarative (the engine's schema
 * apply of tenant/schema.hcl, the routines rendered from tenant/routines.hcl,
 * then the seeds) — and the schema it describes does what it says.
 */
import { execFile } from "node:child_process"
import { readdir, readFile } from "node:fs/promises"
import path from "node:path"
import { promisify } from "node:util"
import { sql } from "@databases/pg"
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { atlasUrl, runSql, withConnection } from "../../cli/src/schema/database.ts"
import { runGate } from "../../cli/src/schema/lint.ts"
import { projectFile } from "../../cli/src/schema/paths.ts"
import { renderRoutines, renderRoutinesMigration, routinesMigrationSuffix } from "../../cli/src/schema/routines.ts"
import { TenantSchema, tenantProjectRoot } from "../../cli/src/fleet/TenantSchema.ts"
import { adminUrl, createTestDatabase, type TestDatabase } from "../support/testDatabase.ts"

const engine = projectFile(".bin/control-plane-engine")
const config = path.join(tenantProjectRoot, "atlas.hcl")

/** Runs an engine verb on the tenant project with the given databases in its environment; gives its JSON report. */
const runEngine = async (args: ReadonlyArray<string>, databases: { url?: string; devUrl?: string }) => {
  const env: Record<string, string> = {}
  if (databases.url !== undefined) env["DATABASE_URL"] = atlasUrl(databases.url)
  if (databases.devUrl !== undefined) env["ATLAS_DEV_URL"] = atlasUrl(databases.devUrl)
  const { stdout } = await promisify(execFile)(engine, [...args, "--config", config, "--env", "local", "--format", "json"], {
    cwd: tenantProjectRoot,
    env
  }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? "{}" }))
  return JSON.parse(stdout) as Record<string, unknown>
}

const runTemplate = <A, E>(use: (template: TenantSchema["Service"]) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.flatMap(TenantSchema, use).pipe(Effect.provide(TenantSchema.layer)))

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
let dev: TestDatabase

beforeAll(async () => {
  ;[versioned, declarative, dev] = await Promise.all([
    createTestDatabase("tenant_versioned"),
    createTestDatabase("tenant_declarative"),
    createTestDatabase("tenant_dev")
  ])
  // Versioned path: the reviewed files, then the seeds (what provisioning runs).
  await runTemplate((template) =>
    Effect.gen(function*() {
      yield* template.migrate(Redacted.make(versioned.url))
      yield* template.seed(Redacted.make(versioned.url))
    }))
  // Declarative path: plan schema.hcl, then the routines and the seeds.
  const applied = await runEngine(["schema", "apply"], { url: declarative.url, devUrl: dev.url })
  expect(applied["applied"], JSON.stringify(applied)).toBe(true)
  await runSql(declarative.url, (await renderRoutines(tenantProjectRoot)).sql)
  for (const seed of (await readdir(path.join(tenantProjectRoot, "seeds"))).sort()) {
    await runSql(declarative.url, await readFile(path.join(tenantProjectRoot, "seeds", seed), "utf8"))
  }
})

afterAll(async () => {
  await Promise.all([versioned?.drop(), declarative?.drop(), dev?.drop()])
})

describe("tenant template", () => {
  it("passes the migration gate (Atlas lint, squawk, lock timeouts, markers) on every file", async () => {
    const report = await runGate({
      directory: path.join(tenantProjectRoot, "migrations"),
      selection: { kind: "all" },
      adminUrl: adminUrl()
    })
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

  it("the versioned database is in sync with schema.hcl (the engine's schema diff plans nothing)", async () => {
    const diff = await runEngine(["schema", "diff"], { url: versioned.url, devUrl: dev.url })
    expect(diff).toMatchObject({ inSync: true, changes: [] })
  })

  it("atlas.sum matches the files and every file replays (the engine's migrate validate)", async () => {
    expect(await runEngine(["migrate", "validate"], { devUrl: dev.url })).toMatchObject({ valid: true })
  })

  it("the routines migration is exactly tenant/routines.hcl rendered", async () => {
    const files = (await readdir(path.join(tenantProjectRoot, "migrations"))).filter((f) => f.endsWith(routinesMigrationSuffix)).sort()
    expect(files.length).toBeGreaterThan(0)
    expect(await readFile(path.join(tenantProjectRoot, "migrations", files.at(-1)!), "utf8")).toBe(
      await renderRoutinesMigration(tenantProjectRoot)
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
