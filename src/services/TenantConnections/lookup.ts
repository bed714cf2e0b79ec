/**
 * The uncached resolution: one query for a tenant (by id or name) and its
 * active database. When a tenant has several active databases, the newest
 * (created_at, then id) is the one routed to.
 */
import { Effect } from "effect"
import { sql } from "../../db/Db.ts"
import type { DbService } from "../../db/Db.ts"
import type { DbError } from "../../domain/errors.ts"
import type { TenantStatus } from "../../domain/enums.ts"
import { normalizeId, type Resolution } from "./resolutionCache.ts"

interface ResolutionRow {
  readonly tenant_id: string
  readonly name: string
  readonly status: TenantStatus
  readonly database_id: string | null
  readonly connection_string_encrypted: string | null
  readonly host: string | null
  readonly port: number | null
  readonly database_name: string | null
}

const activeDatabase = sql`
  LEFT JOIN LATERAL (
    SELECT d.id AS database_id, d.connection_string_encrypted, d.host, d.port, d.database_name
    FROM control_plane.tenant_databases d
    WHERE d.tenant_id = t.tenant_id AND d.status = 'active'
    ORDER BY d.created_at DESC, d.id DESC
    LIMIT 1
  ) d ON true`

const toResolution = (row: ResolutionRow): Resolution => ({
  tenantId: row.tenant_id,
  name: row.name,
  status: row.status,
  database: row.database_id === null
    ? null
    : {
      id: row.database_id,
      envelope: row.connection_string_encrypted!,
      host: row.host!,
      port: row.port!,
      databaseName: row.database_name!,
      fingerprint: JSON.stringify([row.database_id, row.connection_string_encrypted, row.host, row.port, row.database_name])
    }
})

/**
 * The tenant a reference names: by id when it is a UUID that some tenant has
 * as its id, else by name (a name may look like a UUID). Undefined when none.
 */
export const lookupTenant = (db: DbService, reference: string): Effect.Effect<Resolution | undefined, DbError> => {
  const id = normalizeId(reference)
  const query = id === undefined
    ? sql`SELECT t.tenant_id, t.name, t.status, d.* FROM control_plane.tenants t ${activeDatabase}
          WHERE t.name = ${reference}`
    : sql`SELECT t.tenant_id, t.name, t.status, d.* FROM control_plane.tenants t ${activeDatabase}
          WHERE t.tenant_id = ${id}::uuid OR t.name = ${reference}
          ORDER BY t.tenant_id = ${id}::uuid DESC LIMIT 1`
  return Effect.map(db.query<ResolutionRow>(query), (rows) => (rows[0] === undefined ? undefined : toResolution(rows[0])))
}
