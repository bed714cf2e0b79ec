/**
 * A database built before tenant_provisioning.database_id had its foreign
 * key, holding a provisioning record whose database record was removed
 * (`databases remove` allowed it then), upgrades in place: that record goes
 * back to before the register step (so that `tenants provision` registers the
 * database anew and finishes), a sound record is left as it was, the key is
 * valid, and the catalog ends as a database built from scratch.
 */
import { randomUUID } from "node:crypto"
import { readFile, rm } from "node:fs/promises"
import path from "node:path"
import { sql } from "@databases/pg"
import { Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { applyMigrations } from "../../cli/src/schema/apply.ts"
import { hash, scratchProject, type ScratchProject } from "../gate/scratch.ts"
import { catalogSnapshot } from "../support/catalog.ts"
import { runTools } from "../support/schemaTools.ts"
import { createMigratedTestDatabase, createTestDatabase, type TestDatabase, withConnection } from "../support/testDatabase.ts"

let older: ScratchProject
let upgraded: TestDatabase
let fresh: TestDatabase
const sound = { tenantId: "", databaseId: "" }
const broken = { tenantId: "", databaseId: randomUUID() }

beforeAll(async () => {
  // The history up to, not including, the migration that adds the key.
  older = await scratchProject("upgrade_provisioning")
  const files = (await readFile(path.join(older.directory, "atlas.sum"), "utf8")).split("\n").slice(1).filter((l) => l !== "").map((l) => l.split(" ")[0]!)
  const index = files.findIndex((file) => file.endsWith("_add_tenant_provisioning_database_fkey.sql"))
  expect(index).toBeGreaterThan(0)
  for (const file of files.slice(index)) await rm(path.join(older.directory, file))
  await hash(older.root)
  ;[upgraded, fresh] = await Promise.all([createTestDatabase("upgrade_provisioning"), createMigratedTestDatabase("upgrade_provisioning_fresh")])
  await runTools(applyMigrations(Redacted.make(upgraded.url)), older.root)
  await withConnection(upgraded.url, async (db) => {
    const [server] = await db.query(sql`
      INSERT INTO control_plane.database_servers (name, host, admin_connection_string_encrypted, max_databases)
      VALUES ('pg-old', 'db.internal', 'v1:k:x', 10) RETURNING id`)
    for (const [record, name] of [[sound, "sound"], [broken, "broken"]] as const) {
      const [tenant] = await db.query(sql`
        INSERT INTO control_plane.tenants (name, environment, status) VALUES (${name}, 'staging', 'pending') RETURNING tenant_id`)
      record.tenantId = tenant.tenant_id
      const [database] = await db.query(sql`
        INSERT INTO control_plane.tenant_databases (tenant_id, connection_string_encrypted, database_name, host, status)
        VALUES (${record.tenantId}, 'v1:k:x', ${`tenant_${name}`}, 'db.internal', 'active') RETURNING id`)
      if (record === sound) record.databaseId = database.id
      await db.query(sql`
        INSERT INTO control_plane.tenant_provisioning
          (tenant_id, server_id, database_id, database_name, role_name, step, completed_at)
        VALUES (${record.tenantId}, ${server.id}, ${record.databaseId}, ${`tenant_${name}`}, ${`tenant_${name}`}, 'activate', now())`)
    }
  })
})

afterAll(async () => {
  await older?.remove()
  await Promise.all([upgraded?.drop(), fresh?.drop()])
})

const provisioningRecords = (url: string) =>
  withConnection(url, (db) =>
    db.query(sql`SELECT tenant_id, database_id, step::text, completed_at IS NOT NULL AS completed
                 FROM control_plane.tenant_provisioning ORDER BY step::text`))

describe("upgrading to the provisioning record's foreign key to its database", () => {
  it("repairs the record that points nowhere, keeps the sound one, and validates the key", async () => {
    await runTools(applyMigrations(Redacted.make(upgraded.url)))
    expect(await provisioningRecords(upgraded.url)).toEqual([
      { tenant_id: sound.tenantId, database_id: sound.databaseId, step: "activate", completed: true },
      { tenant_id: broken.tenantId, database_id: null, step: "place", completed: false }
    ])
    const [key] = await withConnection(upgraded.url, (db) =>
      db.query(sql`SELECT convalidated, confdeltype FROM pg_constraint WHERE conname = 'tenant_provisioning_database_id_fkey'`))
    expect(key).toEqual({ convalidated: true, confdeltype: "r" })
    const refused = await withConnection(upgraded.url, (db) =>
      db.query(sql`DELETE FROM control_plane.tenant_databases WHERE id = ${sound.databaseId}`)
    ).then(() => undefined, (error: { code?: string; constraint?: string }) => ({ code: error.code, constraint: error.constraint }))
    expect(refused).toEqual({ code: "23503", constraint: "tenant_provisioning_database_id_fkey" })
  })

  it("after: the same catalog as a database built from scratch", async () => {
    expect(await catalogSnapshot(upgraded.url)).toEqual(await catalogSnapshot(fresh.url))
  })
})
