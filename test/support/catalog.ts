/**
 * The control_plane schema as PostgreSQL's catalog describes it, in one
 * comparable value: every column (type, NOT NULL, default), constraint,
 * index, enum, function, trigger and comment. Two databases with equal
 * snapshots hold the same schema. A catalog query rather than pg_dump, which
 * refuses servers newer than itself (the matrix runs 16 to 18 with the
 * machine's pg_dump 15); compare databases of one server with each other, as
 * catalogs differ across versions (18 lists NOT NULL constraints).
 */
import { sql } from "@databases/pg"
import { withConnection } from "./testDatabase.ts"

const queries = {
  columns: sql`
    SELECT c.relname || '.' || a.attname AS name,
           format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
             || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '') AS definition
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE n.nspname = 'control_plane' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped`,
  constraints: sql`
    SELECT c.relname || '.' || k.conname AS name, k.contype::text || ' ' || pg_get_constraintdef(k.oid) AS definition
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'control_plane'`,
  indexes: sql`
    SELECT indexname AS name, indexdef AS definition FROM pg_indexes WHERE schemaname = 'control_plane'`,
  enums: sql`
    SELECT t.typname AS name, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) AS definition
    FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = 'control_plane' GROUP BY t.typname`,
  functions: sql`
    SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS name, pg_get_functiondef(p.oid) AS definition
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'control_plane'`,
  triggers: sql`
    SELECT c.relname || '.' || t.tgname AS name, pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text AS definition
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'control_plane' AND NOT t.tgisinternal`,
  comments: sql`
    SELECT 'schema' AS name, obj_description(n.oid, 'pg_namespace') AS definition
    FROM pg_namespace n WHERE n.nspname = 'control_plane'
    UNION ALL
    SELECT c.relname, obj_description(c.oid, 'pg_class')
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'control_plane' AND c.relkind = 'r'
    UNION ALL
    SELECT c.relname || '.' || a.attname, col_description(c.oid, a.attnum)
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'control_plane' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped`
}

export type CatalogSnapshot = Record<keyof typeof queries, Record<string, string | null>>

/** The snapshot of the control_plane schema of the database at `url`. */
export const catalogSnapshot = (url: string): Promise<CatalogSnapshot> =>
  withConnection(url, async (db) => {
    const snapshot: Record<string, Record<string, string | null>> = {}
    for (const [part, query] of Object.entries(queries)) {
      const rows = (await db.query(query)) as ReadonlyArray<{ name: string; definition: string | null }>
      snapshot[part] = Object.fromEntries([...rows].sort((a, b) => a.name.localeCompare(b.name)).map((r) => [r.name, r.definition]))
    }
    return snapshot as CatalogSnapshot
  })

/** The server's major version, e.g. 15 or 18. */
export const serverMajorVersion = (url: string): Promise<number> =>
  withConnection(url, async (db) => {
    const [row] = await db.query(sql`SELECT current_setting('server_version_num')::int / 10000 AS major`)
    return Number(row.major)
  })
