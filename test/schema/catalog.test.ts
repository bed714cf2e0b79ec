/**
 * Every element of the spec, read back from PostgreSQL's catalog after the
 * versioned path (migrations/) ran on a fresh database, and the behaviour the
 * schema promises, exercised with plain SQL.
 */
import { sql } from "@databases/pg"
import type { ConnectionPool } from "@databases/pg"
import pg from "@databases/pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"

let database: TestDatabase
let db: ConnectionPool

beforeAll(async () => {
  database = await createMigratedTestDatabase("catalog")
  db = pg.default({ connectionString: database.url, bigIntMode: "number" })
})

afterAll(async () => {
  await db?.dispose()
  await database?.drop()
})

interface ColumnRow {
  column_name: string
  type: string
  not_null: boolean
  default_value: string | null
}

const columnsOf = (table: string): Promise<ReadonlyArray<ColumnRow>> =>
  db.query(sql`
    SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default_value
    FROM pg_attribute a
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = ${`control_plane.${table}`}::regclass AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attnum`)

const uuidKey = { type: "uuid", not_null: true, default_value: "gen_random_uuid()" }
const timestamp = { type: "timestamp with time zone", not_null: true, default_value: "now()" }
const required = (type: string) => ({ type, not_null: true, default_value: null })

describe("catalog: the control_plane schema matches the spec", () => {
  it("has the spec's three tables, plus the servers, provisioning and fleet ledger tables", async () => {
    const tables = await db.query(sql`
      SELECT tablename FROM pg_tables WHERE schemaname = 'control_plane' ORDER BY tablename`)
    expect(tables.map((t) => t.tablename)).toEqual([
      "database_servers",
      "fleet_migrations",
      "fleet_runs",
      "system_config",
      "tenant_databases",
      "tenant_provisioning",
      "tenants"
    ])
  })

  it("defines the enums with their labels in order (the spec's three first among them)", async () => {
    const rows = await db.query(sql`
      SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) AS labels
      FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
      JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = 'control_plane' GROUP BY t.typname ORDER BY t.typname`)
    const labels = Object.fromEntries(rows.map((r) => [r.typname, parseArray(r.labels)]))
    expect(labels).toEqual({
      database_status: ["active", "inactive", "migrating", "error"],
      fleet_migration_status: ["pending", "running", "succeeded", "failed", "skipped"],
      fleet_run_status: ["running", "succeeded", "failed", "stopped", "canary_failed"],
      provisioning_step: ["create_tenant", "place", "register", "create_role_and_database", "migrate", "seed", "activate"],
      server_status: ["open", "drained"],
      tenant_environment: ["development", "staging", "production"],
      tenant_status: ["active", "inactive", "suspended", "pending"]
    })
  })

  it("tenants: columns, types, NOT NULL and defaults", async () => {
    expect(await columnsOf("tenants")).toEqual([
      { column_name: "tenant_id", ...uuidKey },
      { column_name: "name", ...required("character varying(255)") },
      { column_name: "environment", ...required("control_plane.tenant_environment") },
      { column_name: "status", ...required("control_plane.tenant_status") },
      { column_name: "created_at", ...timestamp },
      { column_name: "updated_at", ...timestamp }
    ])
  })

  it("tenant_databases: columns, types, NOT NULL and defaults", async () => {
    expect(await columnsOf("tenant_databases")).toEqual([
      { column_name: "id", ...uuidKey },
      { column_name: "tenant_id", ...required("uuid") },
      { column_name: "connection_string_encrypted", ...required("text") },
      { column_name: "database_name", ...required("character varying(255)") },
      { column_name: "host", ...required("character varying(255)") },
      { column_name: "port", type: "integer", not_null: true, default_value: "5432" },
      { column_name: "status", ...required("control_plane.database_status") },
      { column_name: "created_at", ...timestamp },
      { column_name: "updated_at", ...timestamp }
    ])
  })

  it("system_config: columns, types, NOT NULL and defaults", async () => {
    expect(await columnsOf("system_config")).toEqual([
      { column_name: "key", ...required("character varying(255)") },
      { column_name: "value", ...required("jsonb") },
      { column_name: "updated_at", ...timestamp }
    ])
  })

  it("has the primary keys, the unique tenant name and the spec's indexes", async () => {
    const rows = await db.query(sql`
      SELECT c.relname AS table_name, i.relname AS index_name, x.indisunique AS is_unique,
             x.indisprimary AS is_primary,
             (SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(x.indkey) WITH ORDINALITY k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum) AS columns
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'control_plane' AND c.relname IN ('tenants', 'tenant_databases', 'system_config')
      ORDER BY c.relname, i.relname`)
    expect(rows.map((r) => ({ ...r, columns: parseArray(r.columns) }))).toEqual([
      { table_name: "system_config", index_name: "system_config_pkey", is_unique: true, is_primary: true, columns: ["key"] },
      { table_name: "tenant_databases", index_name: "idx_tenant_databases_status", is_unique: false, is_primary: false, columns: ["status"] },
      { table_name: "tenant_databases", index_name: "idx_tenant_databases_tenant_id", is_unique: false, is_primary: false, columns: ["tenant_id"] },
      { table_name: "tenant_databases", index_name: "tenant_databases_pkey", is_unique: true, is_primary: true, columns: ["id"] },
      { table_name: "tenants", index_name: "idx_tenants_status", is_unique: false, is_primary: false, columns: ["status"] },
      { table_name: "tenants", index_name: "tenants_name_key", is_unique: true, is_primary: false, columns: ["name"] },
      { table_name: "tenants", index_name: "tenants_pkey", is_unique: true, is_primary: true, columns: ["tenant_id"] }
    ])
  })

  it("references tenants from tenant_databases with ON DELETE CASCADE", async () => {
    const rows = await db.query(sql`
      SELECT conname, confrelid::regclass::text AS referenced, confdeltype
      FROM pg_constraint WHERE contype = 'f' AND conrelid = 'control_plane.tenant_databases'::regclass`)
    expect(rows).toEqual([
      { conname: "tenant_databases_tenant_id_fkey", referenced: "control_plane.tenants", confdeltype: "c" }
    ])
  })

  it("has control_plane.update_updated_at_column(), a plpgsql trigger function", async () => {
    const rows = await db.query(sql`
      SELECT l.lanname AS language, format_type(p.prorettype, NULL) AS returns, p.prosrc AS body
      FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'control_plane' AND p.proname = 'update_updated_at_column'`)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ language: "plpgsql", returns: "trigger" })
    expect(rows[0].body).toMatch(/NEW\.updated_at\s*=\s*now\(\)/)
  })

  it("has a BEFORE UPDATE row trigger calling it on each table with updated_at", async () => {
    const rows = await db.query(sql`
      SELECT c.relname AS table_name, t.tgname, pg_get_triggerdef(t.oid) AS definition, t.tgenabled
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'control_plane' AND NOT t.tgisinternal ORDER BY c.relname`)
    expect(rows.map((r) => r.table_name)).toEqual([
      "database_servers",
      "system_config",
      "tenant_databases",
      "tenant_provisioning",
      "tenants"
    ])
    for (const row of rows) {
      expect(row.tgenabled).toBe("O")
      expect(row.definition).toBe(
        `CREATE TRIGGER ${row.tgname} BEFORE UPDATE ON control_plane.${row.table_name} ` +
          `FOR EACH ROW EXECUTE FUNCTION control_plane.update_updated_at_column()`
      )
    }
  })

  it("comments the schema, every table and every column", async () => {
    const missing = await db.query(sql`
      SELECT c.relname, a.attname FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = 'control_plane' AND c.relkind = 'r'
        AND (obj_description(c.oid, 'pg_class') IS NULL OR col_description(c.oid, a.attnum) IS NULL)`)
    expect(missing).toEqual([])
    const [schema] = await db.query(sql`SELECT obj_description('control_plane'::regnamespace, 'pg_namespace') AS comment`)
    expect(schema.comment).toMatch(/control plane/i)
  })
})

describe("behaviour: what the schema enforces, through plain SQL", () => {
  const insertTenant = async (name: string): Promise<string> => {
    const [row] = await db.query(sql`
      INSERT INTO control_plane.tenants (name, environment, status)
      VALUES (${name}, 'development', 'pending') RETURNING tenant_id`)
    return row.tenant_id
  }
  const insertDatabase = async (tenantId: string): Promise<{ id: string; port: number }> => {
    const [row] = await db.query(sql`
      INSERT INTO control_plane.tenant_databases (tenant_id, connection_string_encrypted, database_name, host, status)
      VALUES (${tenantId}, 'v1:test:AAAA', 'tenant_db', 'db.internal', 'active') RETURNING id, port`)
    return row
  }
  const codeOf = async (query: Promise<unknown>): Promise<{ code: string | undefined; constraint: string | undefined }> => {
    try {
      await query
    } catch (error) {
      const { code, constraint } = error as { code?: string; constraint?: string }
      return { code, constraint }
    }
    throw new Error("expected the statement to fail")
  }

  // The trigger wins even over an explicit value: an UPDATE that tries to set
  // updated_at into the past still ends with it at the transaction's now().
  const expectTriggerBumps = async (table: string, where: string, key: string) => {
    const [row] = await db.query(sql`
      UPDATE ${sql.ident("control_plane", table)} SET updated_at = '2000-01-01T00:00:00Z'
      WHERE ${sql.ident(where)} = ${key} RETURNING updated_at, now() AS now`)
    expect(row.updated_at.getTime()).toBe(row.now.getTime())
  }

  it("bumps updated_at on UPDATE of tenants", async () => {
    await expectTriggerBumps("tenants", "tenant_id", await insertTenant("bump_tenant"))
  })

  it("bumps updated_at on UPDATE of tenant_databases", async () => {
    const { id } = await insertDatabase(await insertTenant("bump_database"))
    await expectTriggerBumps("tenant_databases", "id", id)
  })

  it("bumps updated_at on UPDATE of system_config", async () => {
    await db.query(sql`INSERT INTO control_plane.system_config (key, value) VALUES ('bump', '{"a":1}')`)
    await expectTriggerBumps("system_config", "key", "bump")
  })

  it("refuses a duplicate tenant name (23505 on tenants_name_key)", async () => {
    await insertTenant("duplicate_me")
    expect(await codeOf(insertTenant("duplicate_me"))).toEqual({ code: "23505", constraint: "tenants_name_key" })
  })

  it("refuses an unknown enum label (22P02)", async () => {
    const failure = await codeOf(db.query(sql`
      INSERT INTO control_plane.tenants (name, environment, status) VALUES ('bad_enum', 'moon', 'active')`))
    expect(failure.code).toBe("22P02")
  })

  it("refuses a database row for a tenant that does not exist (23503)", async () => {
    expect(await codeOf(insertDatabase("00000000-0000-4000-8000-000000000000"))).toEqual({
      code: "23503",
      constraint: "tenant_databases_tenant_id_fkey"
    })
  })

  it("removes a tenant's database rows when the tenant is deleted", async () => {
    const tenantId = await insertTenant("cascade_me")
    await insertDatabase(tenantId)
    await insertDatabase(tenantId)
    await db.query(sql`DELETE FROM control_plane.tenants WHERE tenant_id = ${tenantId}`)
    const [left] = await db.query(sql`
      SELECT count(*)::int AS n FROM control_plane.tenant_databases WHERE tenant_id = ${tenantId}`)
    expect(left.n).toBe(0)
  })

  it("defaults port to 5432", async () => {
    const { port } = await insertDatabase(await insertTenant("default_port"))
    expect(port).toBe(5432)
  })

  it("seeds system_admin as an active production tenant", async () => {
    const rows = await db.query(sql`
      SELECT environment, status FROM control_plane.tenants WHERE name = 'system_admin'`)
    expect(rows).toEqual([{ environment: "production", status: "active" }])
  })
})

/** @databases/pg returns name[] as a PostgreSQL array literal: {a,b}. */
const parseArray = (value: string | ReadonlyArray<string>): ReadonlyArray<string> =>
  Array.isArray(value) ? value : (value as string).replace(/^\{|\}$/g, "").split(",")
