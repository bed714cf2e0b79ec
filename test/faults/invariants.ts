/**
 * What must hold after every fault:
 *
 * - 0 partial rows: the tables are exactly what replaying the audit trail
 *   gives (from the rows seeded before the trail existed). A change without
 *   its event, an event without its change, or half a batch would differ.
 * - every stored connection string (a tenant database's, a server's admin
 *   one) still decrypts, bound to its row;
 * - the audit chain verifies;
 * - nothing is left behind: no session idle in a transaction, no audit lock
 *   held or awaited.
 */
import { sql } from "@databases/pg"
import { Effect, Exit } from "effect"
import { expect } from "vitest"
import { ConnectionStringCrypto } from "../../src/crypto/ConnectionStringCrypto.ts"
import { AuditTrail } from "../../src/services/AuditTrail.ts"
import { type FaultBed, servicesRuntime, waitForOtherSessionsToSettle } from "./harness.ts"

type Fields = Record<string, unknown>
type State = Record<"tenant" | "tenant_database" | "system_config" | "database_server", Map<string, Fields>>

interface EventRow {
  readonly action: string
  readonly entity_type: keyof State | "key_ring" | "audit_trail"
  readonly entity_id: string | null
  readonly changes: Record<string, { readonly old?: unknown; readonly new?: unknown; readonly changed?: boolean } | unknown>
}

/** The recorded fields of each kind of row (what the trigger records, the secret left out). */
const recorded = {
  tenant: ["name", "environment", "status"],
  tenant_database: ["tenant_id", "database_name", "host", "port", "status", "key_id"],
  system_config: ["value"],
  database_server: ["name", "host", "port", "max_databases", "status", "key_id"]
} as const

const replay = (bed: FaultBed, events: ReadonlyArray<EventRow>): State => {
  const state: State = {
    tenant: new Map(bed.baseline.map((t) => [t.tenant_id, { name: t.name, environment: t.environment, status: t.status }])),
    tenant_database: new Map(),
    system_config: new Map(),
    database_server: new Map()
  }
  for (const event of events) {
    if (!(event.entity_type in state)) continue
    const rows = state[event.entity_type as keyof State]
    const newValues = Object.fromEntries(
      Object.entries(event.changes).flatMap(([field, change]) =>
        typeof change === "object" && change !== null && "new" in change ? [[field, (change as { new: unknown }).new]] : []
      )
    )
    switch (event.action) {
      case "create":
        rows.set(event.entity_id!, newValues)
        break
      case "update":
        rows.set(event.entity_id!, { ...rows.get(event.entity_id!), ...newValues })
        break
      case "delete":
        rows.delete(event.entity_id!)
        break
      case "truncate":
        rows.clear()
        break
    }
  }
  return state
}

const pick = (fields: Fields, names: ReadonlyArray<string>): Fields => Object.fromEntries(names.map((name) => [name, fields[name]]))

const sorted = (rows: Map<string, Fields>, names: ReadonlyArray<string>) =>
  [...rows.entries()].map(([id, fields]) => ({ id, ...pick(fields, names) })).sort((a, b) => a.id.localeCompare(b.id))

/** Checks every invariant; gives a few counts for the test to assert on. */
export const checkInvariants = async (bed: FaultBed) => {
  await waitForOtherSessionsToSettle(bed)

  const events = (await bed.pool.query(sql`
    SELECT action, entity_type, entity_id, changes FROM control_plane.audit_events ORDER BY id`)) as ReadonlyArray<EventRow>
  const tenants = await bed.pool.query(sql`SELECT tenant_id AS id, name, environment::text, status::text FROM control_plane.tenants`)
  const databases = await bed.pool.query(sql`
    SELECT id, tenant_id, database_name, host, port, status::text, split_part(connection_string_encrypted, ':', 2) AS key_id,
           connection_string_encrypted AS envelope
    FROM control_plane.tenant_databases`)
  const config = await bed.pool.query(sql`SELECT key AS id, value FROM control_plane.system_config`)
  const servers = await bed.pool.query(sql`
    SELECT id, name, host, port, max_databases, status::text, split_part(admin_connection_string_encrypted, ':', 2) AS key_id,
           admin_connection_string_encrypted AS envelope
    FROM control_plane.database_servers`)
  const toMap = (rows: ReadonlyArray<Fields>) => new Map(rows.map((row) => [row["id"] as string, row]))

  // 0 partial rows: the tables are the replayed trail, field by field.
  const replayed = replay(bed, events)
  expect(sorted(toMap(tenants), recorded.tenant), "tenants differ from the replayed audit trail").toEqual(
    sorted(replayed.tenant, recorded.tenant)
  )
  expect(sorted(toMap(databases), recorded.tenant_database), "tenant_databases differ from the replayed audit trail").toEqual(
    sorted(replayed.tenant_database, recorded.tenant_database)
  )
  expect(sorted(toMap(config), recorded.system_config), "system_config differs from the replayed audit trail").toEqual(
    sorted(replayed.system_config, recorded.system_config)
  )
  expect(sorted(toMap(servers), recorded.database_server), "database_servers differ from the replayed audit trail").toEqual(
    sorted(replayed.database_server, recorded.database_server)
  )

  // Every connection string decrypts, bound to its row (the ring holds both keys).
  const crypto = ConnectionStringCrypto.fromKeyRing(bed.ring())
  const undecryptable = databases.filter((row) =>
    Exit.isFailure(Effect.runSyncExit(crypto.decrypt(row.envelope, { tenantId: row.tenant_id, databaseId: row.id })))
  )
  expect(undecryptable.map((row) => row.id), "connection strings that no longer decrypt").toEqual([])
  const undecryptableAdmin = servers.filter((row) =>
    Exit.isFailure(Effect.runSyncExit(crypto.decryptServerAdmin(row.envelope, { serverId: row.id })))
  )
  expect(undecryptableAdmin.map((row) => row.id), "admin connection strings that no longer decrypt").toEqual([])

  // The chain verifies.
  const runtime = servicesRuntime(bed, { poolSize: 1 })
  try {
    const report = await runtime.runPromise(AuditTrail.use((trail) => trail.verify()))
    expect(report.events).toBe(events.length)
  } finally {
    await runtime.dispose()
  }

  // Nothing left behind.
  const [leftovers] = await bed.pool.query(sql`
    SELECT (SELECT count(*)::int FROM pg_stat_activity WHERE datname = ${bed.database.name} AND state LIKE 'idle in transaction%') AS idle_in_transaction,
           (SELECT count(*)::int FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE a.datname = ${bed.database.name} AND l.locktype = 'advisory') AS advisory_locks`)
  expect(leftovers).toEqual({ idle_in_transaction: 0, advisory_locks: 0 })

  return {
    events: events.length,
    tenants: tenants.length,
    databases: databases.length,
    servers: servers.length,
    databasesUnder: (keyId: string) => databases.filter((row) => row.key_id === keyId).length
  }
}
