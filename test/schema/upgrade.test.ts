/**
 * A database built by the older migrations, where a unique INDEX kept
 * tenants.name unique, upgrades in place to the UNIQUE constraint of
 * schema.hcl: its rows stay, duplicates are still refused under the same name
 * (tenants_name_key), and it ends with the catalog of a database built from
 * scratch.
 */
import { sql } from "@databases/pg"
import { Redacted } from "effect"
import { readFile, rm } from "node:fs/promises"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { applyMigrations } from "../../cli/src/schema/apply.ts"
import { hash, scratchProject, type ScratchProject } from "../gate/scratch.ts"
import { catalogSnapshot } from "../support/catalog.ts"
import { runTools } from "../support/schemaTools.ts"
import { createMigratedTestDatabase, createTestDatabase, type TestDatabase, withConnection } from "../support/testDatabase.ts"

let older: ScratchProject
let upgraded: TestDatabase
let fresh: TestDatabase
let constraintMigration: string

beforeAll(async () => {
  // The history up to, not including, the migration that makes the constraint.
  older = await scratchProject("upgrade")
  const files = (await readFile(path.join(older.directory, "atlas.sum"), "utf8")).split("\n").slice(1).filter((l) => l !== "").map((l) => l.split(" ")[0]!)
  const texts = await Promise.all(files.map((file) => readFile(path.join(older.directory, file), "utf8")))
  const index = texts.findIndex((text) => /ADD CONSTRAINT "tenants_name_key" UNIQUE USING INDEX "tenants_name_key"/.test(text))
  expect(index).toBeGreaterThan(0)
  constraintMigration = files[index]!
  for (const file of files.slice(index)) await rm(path.join(older.directory, file))
  await hash(older.root)
  ;[upgraded, fresh] = await Promise.all([createTestDatabase("upgrade"), createMigratedTestDatabase("upgrade_fresh")])
  await runTools(applyMigrations(Redacted.make(upgraded.url)), older.root)
  await withConnection(upgraded.url, (db) =>
    db.query(sql`INSERT INTO control_plane.tenants (name, environment, status) VALUES ('before_upgrade', 'staging', 'pending')`))
})

afterAll(async () => {
  await older?.remove()
  await Promise.all([upgraded?.drop(), fresh?.drop()])
})

const uniqueConstraints = (url: string) =>
  withConnection(url, (db) =>
    db.query(sql`SELECT conname FROM pg_constraint WHERE contype = 'u' AND conrelid = 'control_plane.tenants'::regclass`))

describe("upgrading a database of the older migrations", () => {
  it("before: a unique index, no constraint", async () => {
    expect(await uniqueConstraints(upgraded.url)).toEqual([])
  })

  it("db migrate applies the constraint migration, keeps the rows, and refuses duplicates under the same name", async () => {
    const result = await runTools(applyMigrations(Redacted.make(upgraded.url)))
    expect(result.applied.map((file) => `${file.version}_${file.description}.sql`)).toContain(constraintMigration)
    expect(await uniqueConstraints(upgraded.url)).toEqual([{ conname: "tenants_name_key" }])
    const names = await withConnection(upgraded.url, (db) => db.query(sql`SELECT name FROM control_plane.tenants ORDER BY name`))
    expect(names.map((row) => row.name)).toEqual(["before_upgrade", "system_admin"])
    const duplicate = await withConnection(upgraded.url, (db) =>
      db.query(sql`INSERT INTO control_plane.tenants (name, environment, status) VALUES ('before_upgrade', 'staging', 'pending')`)
    ).then(() => undefined, (error: { code?: string; constraint?: string }) => ({ code: error.code, constraint: error.constraint }))
    expect(duplicate).toEqual({ code: "23505", constraint: "tenants_name_key" })
  })

  it("after: the same catalog as a database built from scratch", async () => {
    expect(await catalogSnapshot(upgraded.url)).toEqual(await catalogSnapshot(fresh.url))
  })
})
