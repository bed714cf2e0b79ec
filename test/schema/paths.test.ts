/**
 * The two ways to reach the desired state agree: the versioned path
 * (db:migrate) and the declarative path (db:apply), each on a fresh database,
 * produce identical `pg_dump --schema-only` output, and running either a
 * second time succeeds and changes nothing.
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { sql } from "@databases/pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { applyDesiredState, applyMigrations } from "../../cli/src/schema/apply.ts"
import { withConnection } from "../../cli/src/schema/database.ts"
import { createTestDatabase, type TestDatabase } from "../support/testDatabase.ts"

const run = promisify(execFile)

/**
 * The schema as pg_dump sees it. Atlas's revision bookkeeping is left out
 * (only the versioned path has it), and so are pg_dump's per-run
 * \restrict/\unrestrict token lines (PostgreSQL 15.14+).
 */
const schemaDump = async (url: string): Promise<string> => {
  const { stdout } = await run("pg_dump", ["--schema-only", "--exclude-schema=atlas_schema_revisions", "--no-owner", url])
  return stdout
    .split("\n")
    .filter((line) => !/^\\(un)?restrict /.test(line))
    .join("\n")
}

const systemAdminCount = (url: string): Promise<number> =>
  withConnection(url, async (db) => {
    const [row] = await db.query(sql`SELECT count(*)::int AS n FROM control_plane.tenants WHERE name = 'system_admin'`)
    return row.n
  })

let versioned: TestDatabase
let declarative: TestDatabase
let firstMigrate: string
let firstApply: Awaited<ReturnType<typeof applyDesiredState>>

beforeAll(async () => {
  ;[versioned, declarative] = await Promise.all([createTestDatabase("versioned"), createTestDatabase("declarative")])
  firstMigrate = await applyMigrations(versioned.url)
  firstApply = await applyDesiredState(declarative.url)
})

afterAll(async () => {
  await Promise.all([versioned?.drop(), declarative?.drop()])
})

describe("versioned and declarative paths", () => {
  it("the first run of each does real work", () => {
    expect(firstMigrate).toMatch(/migrating version/)
    expect(firstApply.plan).toMatch(/CREATE TABLE "control_plane"."tenants"/)
    expect(firstApply.routines).toContain("update_tenants_updated_at")
    expect(firstApply.seeds).toEqual(["001_system_admin.sql"])
  })

  it("produce identical schema dumps", async () => {
    const [a, b] = await Promise.all([schemaDump(versioned.url), schemaDump(declarative.url)])
    expect(a).toContain('CREATE TABLE control_plane.tenants')
    expect(a).toContain("CREATE TRIGGER update_tenants_updated_at")
    expect(b).toBe(a)
  })

  it("a second db:migrate succeeds and changes nothing", async () => {
    const before = await schemaDump(versioned.url)
    expect(await applyMigrations(versioned.url)).toMatch(/No migration files to execute/)
    expect(await schemaDump(versioned.url)).toBe(before)
    expect(await systemAdminCount(versioned.url)).toBe(1)
  })

  it("a second db:apply succeeds and changes nothing", async () => {
    const before = await schemaDump(declarative.url)
    const again = await applyDesiredState(declarative.url)
    expect(again.plan).toMatch(/no changes to be made/)
    expect(await schemaDump(declarative.url)).toBe(before)
    expect(await systemAdminCount(declarative.url)).toBe(1)
  })
})

describe("db:apply in a shared database", () => {
  it("never drops schema public nor what other applications keep there", async () => {
    const shared = await createTestDatabase("shared")
    try {
      await withConnection(shared.url, (db) => db.query(sql`CREATE TABLE public.keep_me (id int); INSERT INTO public.keep_me VALUES (7)`))
      await applyDesiredState(shared.url)
      const rows = await withConnection(shared.url, (db) => db.query(sql`SELECT id FROM public.keep_me`))
      expect(rows).toEqual([{ id: 7 }])
    } finally {
      await shared.drop()
    }
  })
})
