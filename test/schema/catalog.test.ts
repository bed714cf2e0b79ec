/**
 * Every element of the spec, read back from PostgreSQL's catalog, and the
 * behaviour the schema promises, exercised with plain SQL: on a database the
 * versioned path (migrations/) built from empty, and on one the declarative
 * path (schema.hcl, routines.hcl, seeds/) built from empty.
 */
import { sql } from "@databases/pg"
import type { ConnectionPool } from "@databases/pg"
import pg from "@databases/pg"
import { Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { applyDesiredState, applyMigrations } from "../../cli/src/schema/apply.ts"
import { renderRoutines } from "../../cli/src/schema/routines.ts"
import { listen } from "../support/listen.ts"
import { runTools } from "../support/schemaTools.ts"
import { createTestDatabase, type TestDatabase } from "../support/testDatabase.ts"

const paths = {
  versioned: (url: string) => runTools(applyMigrations(Redacted.make(url))),
  declarative: (url: string) => runTools(applyDesiredState(Redacted.make(url)))
}

describe.each(Object.entries(paths))("the %s path, on an empty database", (path, build) => {
  let database: TestDatabase
  let db: ConnectionPool

  beforeAll(async () => {
    database = await createTestDatabase(`catalog_${path}`)
    await build(database.url)
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
    it("has the spec's three tables, the audit trail, and the servers, provisioning and fleet ledger tables", async () => {
      const tables = await db.query(sql`
        SELECT tablename FROM pg_tables WHERE schemaname = 'control_plane' ORDER BY tablename`)
      expect(tables.map((t) => t.tablename)).toEqual([
        "audit_events",
        "database_servers",
        "fleet_migrations",
        "fleet_runs",
        "system_config",
        "tenant_databases",
        "tenant_provisioning",
        "tenants"
      ])
    })

    it("defines the enums with their labels in order (the spec's three among them)", async () => {
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

    it("audit_events: columns, types, NOT NULL and defaults", async () => {
      expect(await columnsOf("audit_events")).toEqual([
        { column_name: "id", ...required("bigint") },
        { column_name: "occurred_at", type: "timestamp with time zone", not_null: true, default_value: "clock_timestamp()" },
        { column_name: "actor", ...required("text") },
        { column_name: "db_role", ...required("text") },
        { column_name: "action", ...required("text") },
        { column_name: "entity_type", ...required("text") },
        { column_name: "entity_id", type: "text", not_null: false, default_value: null },
        { column_name: "tenant_id", type: "uuid", not_null: false, default_value: null },
        { column_name: "changes", type: "jsonb", not_null: true, default_value: "'{}'::jsonb" },
        { column_name: "reason", type: "text", not_null: false, default_value: null },
        { column_name: "prev_hash", ...required("bytea") },
        { column_name: "hash", ...required("bytea") }
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
        WHERE n.nspname = 'control_plane' AND c.relname IN ('tenants', 'tenant_databases', 'system_config', 'audit_events')
        ORDER BY c.relname, i.relname`)
      expect(rows.map((r) => ({ ...r, columns: parseArray(r.columns) }))).toEqual([
        { table_name: "audit_events", index_name: "audit_events_pkey", is_unique: true, is_primary: true, columns: ["id"] },
        { table_name: "audit_events", index_name: "idx_audit_events_occurred_at", is_unique: false, is_primary: false, columns: ["occurred_at"] },
        { table_name: "audit_events", index_name: "idx_audit_events_purges", is_unique: false, is_primary: false, columns: ["id"] },
        { table_name: "audit_events", index_name: "idx_audit_events_tenant_id", is_unique: false, is_primary: false, columns: ["tenant_id", "id"] },
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

    it("makes tenants.name unique with a UNIQUE constraint (tenants_name_key), as the spec says", async () => {
      const rows = await db.query(sql`
        SELECT conname, pg_get_constraintdef(oid) AS definition
        FROM pg_constraint WHERE contype = 'u' AND conrelid = 'control_plane.tenants'::regclass`)
      expect(rows).toEqual([{ conname: "tenants_name_key", definition: "UNIQUE (name)" }])
    })

    it("has exactly the functions of routines.hcl", async () => {
      const rows = await db.query(sql`
        SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'control_plane' ORDER BY p.proname`)
      expect(rows.map((r) => r.proname)).toEqual([...(await runTools(renderRoutines())).functions].sort())
    })

    it("pins every function's search_path to pg_catalog, pg_temp", async () => {
      const rows = await db.query(sql`
        SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'control_plane' ORDER BY p.proname`)
      expect(rows.length).toBeGreaterThan(0)
      for (const row of rows) expect({ [row.proname]: row.proconfig }).toEqual({ [row.proname]: ["search_path=pg_catalog, pg_temp"] })
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

    it("has exactly the triggers of routines.hcl, each on its table and enabled", async () => {
      const rows = await db.query(sql`
        SELECT c.relname AS table_name, t.tgname, t.tgenabled
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'control_plane' AND NOT t.tgisinternal`)
      const expected = (await runTools(renderRoutines())).triggers.map((t) => `${t.table}.${t.name}`).sort()
      expect(expected.length).toBeGreaterThan(0)
      expect(rows.map((r) => `${r.table_name}.${r.tgname}`).sort()).toEqual(expected)
      for (const row of rows) expect(row.tgenabled).toBe("O")
    })

    it("has a BEFORE UPDATE row trigger calling update_updated_at_column() on each table with updated_at", async () => {
      const rows = await db.query(sql`
        SELECT c.relname AS table_name, pg_get_triggerdef(t.oid) AS definition
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE n.nspname = 'control_plane' AND NOT t.tgisinternal AND p.proname = 'update_updated_at_column'
        ORDER BY c.relname`)
      expect(rows.map((r) => r.table_name)).toEqual([
        "database_servers",
        "system_config",
        "tenant_databases",
        "tenant_provisioning",
        "tenants"
      ])
      for (const row of rows) {
        expect(row.definition).toMatch(
          new RegExp(`BEFORE UPDATE ON control_plane\\.${row.table_name} FOR EACH ROW EXECUTE FUNCTION control_plane\\.update_updated_at_column\\(\\)$`)
        )
      }
    })

    it("has the audit trail's trigger functions, plpgsql", async () => {
      const rows = await db.query(sql`
        SELECT p.proname AS name, l.lanname AS language, format_type(p.prorettype, NULL) AS returns
        FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'control_plane' AND p.proname LIKE 'audit%' ORDER BY p.proname`)
      expect(rows).toEqual(
        [
          "audit_database_servers_change",
          "audit_events_append",
          "audit_events_guard",
          "audit_fleet_runs_change",
          "audit_system_config_change",
          "audit_tenant_databases_change",
          "audit_tenants_change"
        ].map((name) => ({ name, language: "plpgsql", returns: "trigger" }))
      )
    })

    it("has the audit triggers: chaining and the append-only guard on audit_events, recording on the five audited tables", async () => {
      const rows = await db.query(sql`
        SELECT t.tgname, pg_get_triggerdef(t.oid) AS definition, t.tgenabled
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'control_plane' AND NOT t.tgisinternal AND t.tgname LIKE 'audit%' ORDER BY t.tgname`)
      const on = (table: string) => `ON control_plane.${table}`
      expect(rows.every((r) => r.tgenabled === "O")).toBe(true)
      expect(Object.fromEntries(rows.map((r) => [r.tgname, r.definition.replace(/^CREATE TRIGGER \S+ /, "")]))).toEqual({
        audit_events_append: `BEFORE INSERT ${on("audit_events")} FOR EACH ROW EXECUTE FUNCTION control_plane.audit_events_append()`,
        audit_events_guard: `BEFORE DELETE OR UPDATE ${on("audit_events")} FOR EACH ROW EXECUTE FUNCTION control_plane.audit_events_guard()`,
        audit_events_guard_truncate: `BEFORE TRUNCATE ${on("audit_events")} FOR EACH STATEMENT EXECUTE FUNCTION control_plane.audit_events_guard()`,
        ...Object.fromEntries(["database_servers", "fleet_runs", "system_config", "tenant_databases", "tenants"].flatMap((table) => [
          [`audit_${table}`, `AFTER INSERT OR DELETE OR UPDATE ${on(table)} FOR EACH ROW EXECUTE FUNCTION control_plane.audit_${table}_change()`],
          [`audit_${table}_truncate`, `AFTER TRUNCATE ${on(table)} FOR EACH STATEMENT EXECUTE FUNCTION control_plane.audit_${table}_change()`]
        ]))
      })
    })

    it("records every column of each audited table: each recording function names it in its create, update and delete", async () => {
      // The row's key is the event's entity id, and the timestamps the
      // triggers keep are left out; a connection string appears only as the
      // fact that it changed and the id of its key.
      const keys: Record<string, string> = {
        tenants: "tenant_id",
        tenant_databases: "id",
        system_config: "key",
        database_servers: "id",
        fleet_runs: "id"
      }
      for (const [table, key] of Object.entries(keys)) {
        const columns = await db.query(sql`
          SELECT column_name AS name FROM information_schema.columns
          WHERE table_schema = 'control_plane' AND table_name = ${table}
            AND column_name NOT IN (${key}, 'created_at', 'updated_at') ORDER BY ordinal_position`)
        const [fn] = await db.query(sql`SELECT pg_get_functiondef(${`control_plane.audit_${table}_change`}::regproc) AS source`)
        const source: string = fn.source
        // Create, delete and update: a connection string by its key's id, any other column by its value.
        const usesOf = (column: string) =>
          column.endsWith("_encrypted")
            ? [`split_part(NEW.${column}, ':', 2)`, `split_part(OLD.${column}, ':', 2)`, `NEW.${column} IS DISTINCT FROM OLD.${column}`]
            : [`jsonb_build_object('new', NEW.${column})`, `jsonb_build_object('old', OLD.${column})`, `NEW.${column} IS DISTINCT FROM OLD.${column}`]
        const missing = columns.map((c: { name: string }) => c.name)
          .filter((column: string) => !usesOf(column).every((use) => source.includes(use)))
        expect({ table, missing }).toEqual({ table, missing: [] })
      }
    })

    const triggersOf = async (prefix: string) =>
      db.query(sql`
        SELECT c.relname AS table_name, t.tgname, pg_get_triggerdef(t.oid) AS definition, t.tgenabled
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'control_plane' AND NOT t.tgisinternal AND t.tgname LIKE ${`${prefix}%`}
        ORDER BY t.tgname`)

    it("has the lifecycle triggers: row level on both tables, and a TRUNCATE guard on tenants", async () => {
      const rows = await triggersOf("enforce_")
      expect(rows.map((r) => [r.definition, r.tgenabled])).toEqual([
        [
          "CREATE TRIGGER enforce_tenant_databases_lifecycle BEFORE INSERT OR UPDATE ON control_plane.tenant_databases " +
          "FOR EACH ROW EXECUTE FUNCTION control_plane.enforce_database_lifecycle()",
          "O"
        ],
        [
          "CREATE TRIGGER enforce_tenants_lifecycle BEFORE INSERT OR DELETE OR UPDATE ON control_plane.tenants " +
          "FOR EACH ROW EXECUTE FUNCTION control_plane.enforce_tenant_lifecycle()",
          "O"
        ],
        [
          "CREATE TRIGGER enforce_tenants_truncate BEFORE TRUNCATE ON control_plane.tenants " +
          "FOR EACH STATEMENT EXECUTE FUNCTION control_plane.enforce_tenant_lifecycle()",
          "O"
        ]
      ])
    })

    it("has the change-notification triggers: every row change and every TRUNCATE of both tables", async () => {
      const rows = await triggersOf("notify_")
      const definition = (name: string, table: string, events: string, level: string) =>
        `CREATE TRIGGER ${name} AFTER ${events} ON control_plane.${table} FOR EACH ${level} ` +
        `EXECUTE FUNCTION control_plane.notify_tenant_change()`
      expect(rows.map((r) => [r.definition, r.tgenabled])).toEqual([
        [definition("notify_tenant_databases_change", "tenant_databases", "INSERT OR DELETE OR UPDATE", "ROW"), "O"],
        [definition("notify_tenant_databases_truncate", "tenant_databases", "TRUNCATE", "STATEMENT"), "O"],
        [definition("notify_tenants_change", "tenants", "INSERT OR DELETE OR UPDATE", "ROW"), "O"],
        [definition("notify_tenants_truncate", "tenants", "TRUNCATE", "STATEMENT"), "O"]
      ])
    })

    it("has control_plane.lifecycle_moves(), an immutable SQL function giving the transition table as jsonb", async () => {
      const rows = await db.query(sql`
        SELECT l.lanname AS language, format_type(p.prorettype, NULL) AS returns, p.provolatile AS volatility
        FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'control_plane' AND p.proname = 'lifecycle_moves'`)
      expect(rows).toEqual([{ language: "sql", returns: "jsonb", volatility: "i" }])
      const [{ moves }] = await db.query(sql`SELECT control_plane.lifecycle_moves() AS moves`)
      expect(Object.keys(moves.tenant).sort()).toEqual(["active", "inactive", "new", "pending", "suspended"])
      expect(Object.keys(moves.database).sort()).toEqual(["active", "error", "inactive", "migrating", "new"])
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

    const eventsAbout = (entityId: string) =>
      db.query(sql`
        SELECT actor, db_role, action, entity_type, changes, reason FROM control_plane.audit_events
        WHERE entity_id = ${entityId} ORDER BY id`)

    it("records a change made in plain SQL, with the database role as the actor", async () => {
      const tenantId = await insertTenant("audited_by_role")
      await db.query(sql`UPDATE control_plane.tenants SET status = 'inactive' WHERE tenant_id = ${tenantId}`)
      await db.query(sql`UPDATE control_plane.tenants SET status = 'inactive' WHERE tenant_id = ${tenantId}`) // no change: no event
      expect(await eventsAbout(tenantId)).toEqual([
        {
          actor: "postgres", db_role: "postgres", action: "create", entity_type: "tenant", reason: null,
          changes: { name: { new: "audited_by_role" }, environment: { new: "development" }, status: { new: "pending" } }
        },
        {
          actor: "postgres", db_role: "postgres", action: "update", entity_type: "tenant", reason: null,
          changes: { status: { old: "pending", new: "inactive" } }
        }
      ])
    })

    it("a role's own operators ahead of pg_catalog change nothing: the guard still refuses, the change is still recorded", async () => {
      // A role that is neither owner nor superuser, with a schema of its own:
      // a `<` that is always true (the guard's "event older than the cut")
      // and a `<>` that is always false (the recording's "something changed").
      const role = `cp_hostile_${path}_${process.pid}`
      const tenantId = await insertTenant(`hostile_${path}`)
      await db.query(sql`CREATE ROLE ${sql.ident(role)} NOLOGIN`)
      try {
        await db.query(sql`
          GRANT USAGE ON SCHEMA control_plane TO ${sql.ident(role)};
          GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA control_plane TO ${sql.ident(role)};
          CREATE SCHEMA hostile AUTHORIZATION ${sql.ident(role)};
          SET ROLE ${sql.ident(role)};
          CREATE FUNCTION hostile.yes(bigint, bigint) RETURNS boolean LANGUAGE sql AS 'SELECT true';
          CREATE OPERATOR hostile.< (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = hostile.yes);
          CREATE FUNCTION hostile.no(jsonb, jsonb) RETURNS boolean LANGUAGE sql AS 'SELECT false';
          CREATE OPERATOR hostile.<> (LEFTARG = jsonb, RIGHTARG = jsonb, FUNCTION = hostile.no);
          RESET ROLE`)
        const asHostile = (statement: ReturnType<typeof sql>) =>
          db.tx(async (tx) => {
            await tx.query(sql`SET LOCAL ROLE ${sql.ident(role)}; SET LOCAL search_path = hostile, pg_catalog`)
            return tx.query(statement)
          })
        const newest = sql`SELECT max(id) AS id FROM control_plane.audit_events`
        const [{ id: before }] = await db.query(newest)
        const refused = await codeOf(asHostile(sql`DELETE FROM control_plane.audit_events WHERE id = (SELECT max(id) FROM control_plane.audit_events)`))
        expect(refused.code).toBe("CPA01")
        await asHostile(sql`UPDATE control_plane.tenants SET name = ${`hostile_${path}_renamed`} WHERE tenant_id = ${tenantId}`)
        const [{ id: after }] = await db.query(newest)
        expect(after).toBe(before + 1)
        const [last] = await db.query(sql`SELECT db_role, entity_id, changes FROM control_plane.audit_events WHERE id = ${after}`)
        // db_role is the session's login (SET ROLE does not change it).
        expect(last).toEqual({ db_role: "postgres", entity_id: tenantId, changes: { name: { old: `hostile_${path}`, new: `hostile_${path}_renamed` } } })
      } finally {
        await db.query(sql`DROP SCHEMA IF EXISTS hostile CASCADE; DROP OWNED BY ${sql.ident(role)}; DROP ROLE ${sql.ident(role)}`)
      }
    })

    it("records a change of a row's key or created_at, under the new key", async () => {
      await db.query(sql`INSERT INTO control_plane.system_config (key, value) VALUES ('before_rename', '1')`)
      await db.query(sql`UPDATE control_plane.system_config SET key = 'after_rename' WHERE key = 'before_rename'`)
      expect((await eventsAbout("after_rename")).map(({ action, changes }) => ({ action, changes }))).toEqual([
        { action: "update", changes: { key: { old: "before_rename", new: "after_rename" } } }
      ])
      const tenantId = await insertTenant("backdated")
      await db.query(sql`UPDATE control_plane.tenants SET created_at = '2001-01-01T00:00:00Z' WHERE tenant_id = ${tenantId}`)
      const [update] = (await eventsAbout(tenantId)).filter((event) => event.action === "update")
      expect(Object.keys(update.changes)).toEqual(["created_at"])
      expect(update.changes.created_at.new).toMatch(/^2001-01-01T00:00:00/)
    })

    it("records the actor and reason set for the transaction, in the same transaction as the change", async () => {
      const name = "audited_by_actor"
      await db.tx(async (tx) => {
        await tx.query(sql`SELECT set_config('control_plane.actor', 'alice', true), set_config('control_plane.audit_reason', 'ticket 7', true)`)
        await tx.query(sql`INSERT INTO control_plane.tenants (name, environment, status) VALUES (${name}, 'staging', 'pending')`)
      })
      const rolledBack = "rolled_back_tenant"
      await expect(db.tx(async (tx) => {
        await tx.query(sql`INSERT INTO control_plane.tenants (name, environment, status) VALUES (${rolledBack}, 'staging', 'pending')`)
        throw new Error("roll back")
      })).rejects.toThrow("roll back")
      const events = await db.query(sql`
        SELECT actor, reason, changes -> 'name' ->> 'new' AS name FROM control_plane.audit_events
        WHERE action = 'create' AND changes -> 'name' ->> 'new' IN (${name}, ${rolledBack})`)
      expect(events).toEqual([{ actor: "alice", reason: "ticket 7", name }])
    })

    it("records a connection string only as changed, with its key id: never the ciphertext", async () => {
      const tenantId = await insertTenant("audited_secret")
      const { id } = await insertDatabase(tenantId)
      await db.query(sql`UPDATE control_plane.tenant_databases SET connection_string_encrypted = 'v1:next:QkJCQg' WHERE id = ${id}`)
      const events = await eventsAbout(id)
      expect(events.map((e) => [e.action, e.changes.connection_string, e.changes.key_id])).toEqual([
        ["create", { changed: true }, { new: "test" }],
        ["update", { changed: true }, { old: "test", new: "next" }]
      ])
      const [leak] = await db.query(sql`
        SELECT count(*)::int AS n FROM control_plane.audit_events
        WHERE changes::text LIKE '%AAAA%' OR changes::text LIKE '%QkJCQg%' OR changes ? 'connection_string_encrypted'`)
      expect(leak.n).toBe(0)
    })

    it("records a TRUNCATE of a recorded table as one event", async () => {
      await db.query(sql`INSERT INTO control_plane.system_config (key, value) VALUES ('truncated', '1')`)
      await db.query(sql`TRUNCATE control_plane.system_config`)
      const [last] = await db.query(sql`SELECT action, entity_type FROM control_plane.audit_events ORDER BY id DESC LIMIT 1`)
      expect(last).toEqual({ action: "truncate", entity_type: "system_config" })
    })

    it("refuses UPDATE, DELETE and TRUNCATE of audit_events, even for its owner (a superuser here), with SQLSTATE CPA01", async () => {
      const [owner] = await db.query(sql`
        SELECT pg_get_userbyid(relowner) AS owner, current_user AS me FROM pg_class WHERE oid = 'control_plane.audit_events'::regclass`)
      expect(owner.owner).toBe(owner.me)
      await insertTenant("guarded_events")
      const count = async () => (await db.query(sql`SELECT count(*)::int AS n FROM control_plane.audit_events`))[0].n
      const before = await count()
      for (const statement of [
        sql`UPDATE control_plane.audit_events SET actor = 'mallory'`,
        sql`DELETE FROM control_plane.audit_events`,
        sql`DELETE FROM control_plane.audit_events WHERE id = (SELECT max(id) FROM control_plane.audit_events)`,
        sql`TRUNCATE control_plane.audit_events`
      ]) {
        expect((await codeOf(db.query(statement))).code).toBe("CPA01")
      }
      expect(await count()).toBe(before)
    })

    it("chains whatever is inserted: id, time, actor, role and hashes come from the trigger, not the row", async () => {
      await db.query(sql`
        INSERT INTO control_plane.audit_events (id, occurred_at, actor, db_role, action, entity_type, prev_hash, hash)
        VALUES (1, '2000-01-01', 'forged', 'forged', 'reveal', 'tenant_database', '\\x00', '\\x00')`)
      const [last] = await db.query(sql`
        SELECT e.id, e.actor, e.db_role, e.occurred_at > now() - interval '1 minute' AS recent,
               e.prev_hash = p.hash AS linked, length(e.hash) AS hash_bytes
        FROM control_plane.audit_events e JOIN control_plane.audit_events p ON p.id = e.id - 1
        ORDER BY e.id DESC LIMIT 1`)
      expect(last).toMatchObject({ actor: "postgres", db_role: "postgres", recent: true, linked: true, hash_bytes: 32 })
      expect(last.id).toBeGreaterThan(1)
    })

    it("seeds system_admin as an active production tenant", async () => {
      const rows = await db.query(sql`
        SELECT environment, status FROM control_plane.tenants WHERE name = 'system_admin'`)
      expect(rows).toEqual([{ environment: "production", status: "active" }])
    })
  })


  describe("lifecycle: what the triggers refuse, even from plain SQL", () => {
    interface Refusal {
      readonly code: string | undefined
      readonly message: string | undefined
      readonly detail: unknown
    }
    const refusalOf = async (query: Promise<unknown>): Promise<Refusal> => {
      try {
        await query
      } catch (error) {
        const { code, message, detail } = error as { code?: string; message?: string; detail?: string }
        return { code, message, detail: detail === undefined ? undefined : JSON.parse(detail) }
      }
      throw new Error("expected the statement to be refused")
    }
    const newTenant = async (name: string): Promise<string> => {
      const [row] = await db.query(sql`
        INSERT INTO control_plane.tenants (name, environment, status) VALUES (${name}, 'development', 'pending')
        RETURNING tenant_id`)
      return row.tenant_id
    }
    const setTenantStatus = (tenantId: string, status: string) =>
      db.query(sql`UPDATE control_plane.tenants SET status = ${status} WHERE tenant_id = ${tenantId}`)
    const newDatabase = async (tenantId: string, status: string): Promise<string> => {
      const [row] = await db.query(sql`
        INSERT INTO control_plane.tenant_databases (tenant_id, connection_string_encrypted, database_name, host, status)
        VALUES (${tenantId}, 'v1:test:AAAA', 'lifecycle_db', 'db.internal', ${status}) RETURNING id`)
      return row.id
    }

    it("refuses a move the table does not allow with LC001, the moves allowed in DETAIL, and changes nothing", async () => {
      const tenantId = await newTenant("lc_illegal")
      const refusal = await refusalOf(setTenantStatus(tenantId, "suspended"))
      expect(refusal).toEqual({
        code: "LC001",
        message: "illegal tenant status transition from pending to suspended (allowed from pending: active, inactive)",
        detail: { entity: "tenant", id: tenantId, name: "lc_illegal", from: "pending", to: "suspended", allowed: ["active", "inactive"] }
      })
      const [row] = await db.query(sql`SELECT status FROM control_plane.tenants WHERE tenant_id = ${tenantId}`)
      expect(row.status).toBe("pending")
    })

    it("a new tenant starts pending: any other status is LC001 from null", async () => {
      const refusal = await refusalOf(db.query(sql`
        INSERT INTO control_plane.tenants (name, environment, status) VALUES ('lc_born_active', 'staging', 'active')`))
      expect(refusal.code).toBe("LC001")
      expect(refusal.detail).toMatchObject({ entity: "tenant", from: null, to: "active", allowed: ["pending"] })
      const rows = await db.query(sql`SELECT 1 FROM control_plane.tenants WHERE name = 'lc_born_active'`)
      expect(rows).toEqual([])
    })

    it("a tenant becomes active only with an active database (LC002), then can be suspended and resumed", async () => {
      const tenantId = await newTenant("lc_activate")
      expect(await refusalOf(setTenantStatus(tenantId, "active"))).toEqual({
        code: "LC002",
        message: `tenant ${tenantId} cannot become active without an active database`,
        detail: { id: tenantId, name: "lc_activate" }
      })
      const databaseId = await newDatabase(tenantId, "migrating")
      expect((await refusalOf(setTenantStatus(tenantId, "active"))).code).toBe("LC002")
      await db.query(sql`UPDATE control_plane.tenant_databases SET status = 'active' WHERE id = ${databaseId}`)
      await setTenantStatus(tenantId, "active")
      await setTenantStatus(tenantId, "suspended")
      await setTenantStatus(tenantId, "active")
      await setTenantStatus(tenantId, "inactive")
      expect((await refusalOf(setTenantStatus(tenantId, "active"))).detail).toMatchObject({ from: "inactive", allowed: [] })
    })

    it("an update that keeps the status is not a move (a rename of an inactive tenant works)", async () => {
      const tenantId = await newTenant("lc_same")
      await setTenantStatus(tenantId, "inactive")
      await db.query(sql`UPDATE control_plane.tenants SET name = 'lc_same_renamed', status = 'inactive' WHERE tenant_id = ${tenantId}`)
      const [row] = await db.query(sql`SELECT name FROM control_plane.tenants WHERE tenant_id = ${tenantId}`)
      expect(row.name).toBe("lc_same_renamed")
    })

    it("refuses database moves the table does not allow (error -> active)", async () => {
      const databaseId = await newDatabase(await newTenant("lc_database"), "active")
      await db.query(sql`UPDATE control_plane.tenant_databases SET status = 'error' WHERE id = ${databaseId}`)
      const refusal = await refusalOf(db.query(sql`UPDATE control_plane.tenant_databases SET status = 'active' WHERE id = ${databaseId}`))
      expect(refusal).toMatchObject({
        code: "LC001",
        message: "illegal database status transition from error to active (allowed from error: migrating, inactive)",
        detail: { entity: "database", id: databaseId, from: "error", to: "active", allowed: ["migrating", "inactive"] }
      })
      expect((await refusalOf(newDatabase(await newTenant("lc_database_new"), "error"))).detail).toMatchObject({ from: null, to: "error" })
    })

    it("system_admin cannot be suspended, deactivated, renamed, deleted or truncated away (LC003)", async () => {
      const admin = sql`WHERE name = 'system_admin'`
      for (const [statement, operation] of [
        [sql`UPDATE control_plane.tenants SET status = 'suspended' ${admin}`, "status"],
        [sql`UPDATE control_plane.tenants SET status = 'inactive' ${admin}`, "status"],
        [sql`UPDATE control_plane.tenants SET name = 'not_admin' ${admin}`, "rename"],
        [sql`DELETE FROM control_plane.tenants ${admin}`, "delete"],
        [sql`TRUNCATE control_plane.tenants CASCADE`, "delete"]
      ] as const) {
        const refusal = await refusalOf(db.query(statement))
        expect(refusal.code).toBe("LC003")
        expect(refusal.message).toMatch(/^system_admin is the platform's own tenant/)
        expect(refusal.detail).toMatchObject({ operation })
      }
      const rows = await db.query(sql`SELECT name, status FROM control_plane.tenants ${admin}`)
      expect(rows).toEqual([{ name: "system_admin", status: "active" }])
      // Its environment is not part of the lifecycle.
      await db.query(sql`UPDATE control_plane.tenants SET environment = 'production' ${admin}`)
    })
  })

  describe("change notifications: control_plane_tenant_changes carries the tenant's id", () => {
    it("notifies at commit for every change to a tenant or one of its databases, and '*' for TRUNCATE", async () => {
      const listener = await listen(database.url, "control_plane_tenant_changes")
      try {
        const [tenant] = await db.query(sql`
          INSERT INTO control_plane.tenants (name, environment, status) VALUES ('notify_me', 'development', 'pending')
          RETURNING tenant_id`)
        const id: string = tenant.tenant_id
        const [other] = await db.query(sql`
          INSERT INTO control_plane.tenants (name, environment, status) VALUES ('notify_other', 'development', 'pending')
          RETURNING tenant_id`)
        // Delivery is asynchronous: wait for the INSERT's notification, so that
        // the check inside the transaction below sees what has arrived, not a race.
        await expect.poll(() => listener.payloads.filter((p) => p === id).length, { timeout: 5_000 }).toBe(1)
        // A transaction notifies only when it commits, and folds repeated payloads into one.
        await db.tx(async (tx) => {
          await tx.query(sql`UPDATE control_plane.tenants SET name = 'notify_me_2' WHERE tenant_id = ${id}`)
          await tx.query(sql`UPDATE control_plane.tenants SET environment = 'staging' WHERE tenant_id = ${id}`)
          expect(listener.payloads.filter((p) => p === id)).toHaveLength(1) // only the INSERT so far
        })
        const [row] = await db.query(sql`
          INSERT INTO control_plane.tenant_databases (tenant_id, connection_string_encrypted, database_name, host, status)
          VALUES (${id}, 'v1:test:AAAA', 'notify_db', 'db.internal', 'inactive') RETURNING id`)
        // Moving a database to another tenant concerns both.
        await db.query(sql`UPDATE control_plane.tenant_databases SET tenant_id = ${other.tenant_id} WHERE id = ${row.id}`)
        await db.query(sql`DELETE FROM control_plane.tenant_databases WHERE id = ${row.id}`)
        // With the provisioning records, whose foreign key refuses a TRUNCATE of the databases alone.
        await db.query(sql`TRUNCATE control_plane.tenant_provisioning, control_plane.tenant_databases`)
        const mine = (payloads: ReadonlyArray<string>) => payloads.filter((p) => p === id || p === other.tenant_id || p === "*")
        await expect.poll(() => mine(listener.payloads).length, { timeout: 5_000 }).toBe(8)
        expect(mine(listener.payloads)).toEqual([id, other.tenant_id, id, id, id, other.tenant_id, other.tenant_id, "*"])
      } finally {
        await listener.close()
      }
    })
  })
})

/** @databases/pg returns name[] as a PostgreSQL array literal: {a,b}. */
const parseArray = (value: string | ReadonlyArray<string>): ReadonlyArray<string> =>
  Array.isArray(value) ? value : (value as string).replace(/^\{|\}$/g, "").split(",")
