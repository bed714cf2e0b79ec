/**
 * The two ways to reach the desired state agree: the versioned path
 * (db migrate) and the declarative path (db apply), each on an empty
 * database, give identical catalogs, and running either a second time plans
 * nothing and changes nothing. The declarative path never touches what other
 * applications keep in the same database.
 */
import { sql } from "@databases/pg"
import { Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { applyDesiredState, applyMigrations, type ApplyReport } from "../../cli/src/schema/apply.ts"
import type { MigrationsApplied } from "../../cli/src/engine/Engine.ts"
import { catalogSnapshot } from "../support/catalog.ts"
import { runTools } from "../support/schemaTools.ts"
import { createTestDatabase, type TestDatabase, withConnection } from "../support/testDatabase.ts"

const migrate = (database: TestDatabase) => runTools(applyMigrations(Redacted.make(database.url)))
const apply = (database: TestDatabase) => runTools(applyDesiredState(Redacted.make(database.url)))

const systemAdminCount = (url: string): Promise<number> =>
  withConnection(url, async (db) => {
    const [row] = await db.query(sql`SELECT count(*)::int AS n FROM control_plane.tenants WHERE name = 'system_admin'`)
    return row.n
  })

let versioned: TestDatabase
let declarative: TestDatabase
let firstMigrate: MigrationsApplied
let firstApply: ApplyReport

beforeAll(async () => {
  ;[versioned, declarative] = await Promise.all([createTestDatabase("versioned"), createTestDatabase("declarative")])
  ;[firstMigrate, firstApply] = await Promise.all([migrate(versioned), apply(declarative)])
})

afterAll(async () => {
  await Promise.all([versioned?.drop(), declarative?.drop()])
})

describe("versioned and declarative paths", () => {
  it("the first run of each does real work", () => {
    expect(firstMigrate.applied.length).toBeGreaterThan(0)
    expect(firstMigrate.pending).toBe(0)
    expect(firstApply.changes.map((c) => c.sql)).toContain('CREATE SCHEMA "control_plane"')
    expect(firstApply.changes.some((c) => c.sql.startsWith('CREATE TABLE "control_plane"."tenants"'))).toBe(true)
    expect(firstApply.routines).toContain("update_tenants_updated_at")
    expect(firstApply.seeds).toEqual(["001_system_admin.sql"])
  })

  it("give identical catalogs: columns, constraints, indexes, enums, functions, triggers, comments", async () => {
    const [a, b] = await Promise.all([catalogSnapshot(versioned.url), catalogSnapshot(declarative.url)])
    expect(Object.keys(a.columns).length).toBeGreaterThan(0)
    expect(Object.keys(a.triggers).length).toBeGreaterThan(0)
    expect(b).toEqual(a)
  })

  it("a second db migrate applies nothing and changes nothing", async () => {
    const before = await catalogSnapshot(versioned.url)
    const again = await migrate(versioned)
    expect(again.applied).toEqual([])
    expect(again.current).toBe(firstMigrate.current)
    expect(await catalogSnapshot(versioned.url)).toEqual(before)
    expect(await systemAdminCount(versioned.url)).toBe(1)
  })

  it("a second db apply plans nothing and changes nothing", async () => {
    const before = await catalogSnapshot(declarative.url)
    const again = await apply(declarative)
    expect(again.changes).toEqual([])
    expect(await catalogSnapshot(declarative.url)).toEqual(before)
    expect(await systemAdminCount(declarative.url)).toBe(1)
  })
})

describe("db apply in a shared database", () => {
  it("never drops schema public nor what other applications keep there", async () => {
    const shared = await createTestDatabase("shared")
    try {
      await withConnection(shared.url, (db) => db.query(sql`CREATE TABLE public.keep_me (id int); INSERT INTO public.keep_me VALUES (7)`))
      await apply(shared)
      const rows = await withConnection(shared.url, (db) => db.query(sql`SELECT id FROM public.keep_me`))
      expect(rows).toEqual([{ id: 7 }])
    } finally {
      await shared.drop()
    }
  })
})
