/**
 * What must hold after every fault:
 *
 * - 0 partial rows: the tables are exactly what replaying the audit trail
 *   gives (from the rows seeded before the trail existed). A change without
 *   its event, an event without its change, or half a batch would differ.
 * - every stored connection string still decrypts, bound to its row;
 * - the audit chain verifies;
 * - nothing is left behind: no session idle in a transaction, no audit lock
 *   held or awaited.
 */
import { sql } from "@databases/pg"
import { Effect, Exit, Redacted } from "effect"
import { expect } from "vitest"
import { ConnectionStringCrypto } from "../../src/crypto/ConnectionStringCrypto.ts"
import { type ProvisioningStep, provisioningSteps } from "../../src/domain/enums.ts"
import { AuditTrail } from "../../src/services/AuditTrail.ts"
import { type FaultBed, servicesRuntime, waitForOtherSessionsToSettle, waitUntil } from "./harness.ts"

type Fields = Record<string, unknown>
type State = Record<"tenant" | "tenant_database" | "system_config" | "database_server", Map<string, Fields>>

interface EventRow {
  readonly action: string
  readonly entity_type: keyof State | "fleet_run" | "key_ring" | "audit_trail"
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
    SELECT id, name, host, port, max_databases, status::text, split_part(admin_connection_string_encrypted, ':', 2) AS key_id
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
    databasesUnder: (keyId: string) => databases.filter((row) => row.key_id === keyId).length
  }
}

/*
 * Provisioning and fleet runs: the checks the fault suite adds after a kill of
 * either (and after the re-run), beside checkInvariants. Every server a bed
 * registers is the local cluster, whose catalogs the bed's pool can read.
 */

/** LIKE pattern of the bed's tenants' role and database names (its prefix, `_` taken literally). */
const tenantNamePattern = (bed: FaultBed): string => `${bed.prefix.replaceAll("_", "\\_")}%`

/** Every database server's admin connection string decrypts, bound to its row; gives how many servers there are. */
export const checkServerAdminStrings = async (bed: FaultBed): Promise<number> => {
  const servers = await bed.pool.query(sql`
    SELECT id, name, admin_connection_string_encrypted AS envelope FROM control_plane.database_servers`)
  const crypto = ConnectionStringCrypto.fromKeyRing(bed.ring())
  const undecryptable = servers.filter((row) =>
    Exit.isFailure(Effect.runSyncExit(crypto.decryptServerAdmin(row.envelope, { serverId: row.id })))
  )
  expect(undecryptable.map((row) => row.name), "admin connection strings that no longer decrypt").toEqual([])
  return servers.length
}

const stepIndex = (step: string): number => provisioningSteps.indexOf(step as ProvisioningStep)

interface PlacedRow {
  readonly tenant_id: string
  readonly name: string
  readonly tenant_status: string
  readonly step: string | null
  readonly failed_step: string | null
  readonly error: string | null
  readonly completed: boolean
  readonly role_name: string
  readonly database_name: string
  readonly record_database_id: string | null
  readonly tenant_database_ids: ReadonlyArray<string>
  readonly database_id: string | null
  readonly database_tenant_id: string | null
  readonly registered_name: string | null
  readonly database_status: string | null
  readonly database_at: string | null
  readonly server_at: string | null
  readonly envelope: string | null
}

/** What is wrong with one tenant's provisioning, in words (never a secret); empty when nothing is. */
const provisioningProblems = (row: PlacedRow, crypto: ReturnType<typeof ConnectionStringCrypto.fromKeyRing>): ReadonlyArray<string> => {
  if (row.step === null) return ["a tenant without its provisioning record"]
  const problems: Array<string> = []
  const step = stepIndex(row.step)
  const registered = step >= stepIndex("register")
  const done = row.step === "activate"
  if (step < stepIndex("place")) problems.push(`recorded at ${row.step}, which is never recorded on its own`)
  if ((row.failed_step === null) !== (row.error === null)) problems.push("a failed step without its reason, or a reason without its step")
  if (done !== row.completed) problems.push(`at ${row.step} with completed_at ${row.completed ? "set" : "unset"}`)
  if (row.tenant_status !== (done ? "active" : "pending")) problems.push(`at ${row.step} with the tenant ${row.tenant_status}`)
  if (!registered) {
    if (row.record_database_id !== null) problems.push(`at ${row.step} with a database id`)
    if (row.tenant_database_ids.length > 0) problems.push(`at ${row.step} with ${row.tenant_database_ids.length} database record(s)`)
    return problems
  }
  if (row.database_id === null) return [...problems, `at ${row.step} without its database record`]
  if (row.tenant_database_ids.length !== 1) problems.push(`${row.tenant_database_ids.length} database records`)
  if (row.database_tenant_id !== row.tenant_id) problems.push("its database record belongs to another tenant")
  if (row.registered_name !== row.database_name) problems.push("its database record names another database")
  if (row.database_at !== row.server_at) problems.push("its database record is on another host or port than its server")
  // Once provisioned, a fleet run moves the database too (migrating, then active or error; checkFleetRuns).
  const expected = done ? ["active", "migrating", "error"] : ["migrating", "error"]
  if (!expected.includes(row.database_status!)) problems.push(`at ${row.step} with the database ${row.database_status}`)
  const decrypted = Effect.runSyncExit(crypto.decrypt(row.envelope!, { tenantId: row.tenant_id, databaseId: row.database_id }))
  if (Exit.isFailure(decrypted)) return [...problems, "its connection string does not decrypt"]
  const url = new URL(Redacted.value(decrypted.value))
  if (decodeURIComponent(url.username) !== row.role_name || url.pathname !== `/${row.database_name}`) {
    problems.push("its connection string names another role or database than its record")
  }
  return problems
}

/**
 * 0 partial provisioning: every tenant (but the bed's baseline) has its
 * provisioning record, consistent with the step it records: no database
 * record before `register`, exactly one from then on, of this tenant, naming
 * the record's database on its server's host, whose connection string holds
 * the record's role and database; the tenant pending and the database
 * migrating or error until `activate`, the tenant active after (and the
 * database active, or wherever a fleet run took it). Gives how many records
 * are at each step.
 */
export const checkProvisioningRecords = async (bed: FaultBed): Promise<Partial<Record<ProvisioningStep, number>>> => {
  const rows = (await bed.pool.query(sql`
    SELECT t.tenant_id, t.name, t.status::text AS tenant_status,
           p.step::text, p.failed_step::text, p.error, p.completed_at IS NOT NULL AS completed,
           p.role_name, p.database_name, p.database_id AS record_database_id,
           ARRAY(SELECT o.id::text FROM control_plane.tenant_databases o WHERE o.tenant_id = t.tenant_id) AS tenant_database_ids,
           d.id AS database_id, d.tenant_id AS database_tenant_id, d.database_name AS registered_name,
           d.status::text AS database_status, d.host || ':' || d.port AS database_at, s.host || ':' || s.port AS server_at,
           d.connection_string_encrypted AS envelope
    FROM control_plane.tenants t
    LEFT JOIN control_plane.tenant_provisioning p USING (tenant_id)
    LEFT JOIN control_plane.tenant_databases d ON d.id = p.database_id
    LEFT JOIN control_plane.database_servers s ON s.id = p.server_id
    WHERE t.tenant_id <> ALL (${bed.baseline.map((t) => t.tenant_id)}::uuid[])`)) as ReadonlyArray<PlacedRow>
  const crypto = ConnectionStringCrypto.fromKeyRing(bed.ring())
  const problems = rows.flatMap((row) => provisioningProblems(row, crypto).map((problem) => `${row.name}: ${problem}`))
  expect(problems, "tenants whose provisioning is partial").toEqual([])
  const steps: Partial<Record<ProvisioningStep, number>> = {}
  for (const row of rows) steps[row.step as ProvisioningStep] = (steps[row.step as ProvisioningStep] ?? 0) + 1
  return steps
}

/**
 * The server matches the records: no role or database with the bed's prefix
 * that no provisioning record names, each database owned by its role, and
 * every record at `create_role_and_database` or later has both (a record at
 * `register` may have them too: a kill after they were made, before the step
 * was recorded, which the re-run adopts). Once every record is at
 * `activate`, that is the records exactly. Gives how many roles and
 * databases there are.
 */
export const checkServerObjects = async (bed: FaultBed) => {
  const pattern = tenantNamePattern(bed)
  const found = await bed.pool.query(sql`
    SELECT 'database' AS kind, datname AS name, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname LIKE ${pattern}
    UNION ALL
    SELECT 'role', rolname, NULL FROM pg_roles WHERE rolname LIKE ${pattern}`)
  const records = await bed.pool.query(sql`
    SELECT role_name, database_name, step::text FROM control_plane.tenant_provisioning`)
  const roles = new Map(records.map((r) => [r.role_name as string, r]))
  const databases = new Map(records.map((r) => [r.database_name as string, r]))
  const orphans = found.filter((f) => !(f.kind === "role" ? roles : databases).has(f.name)).map((f) => `${f.kind} ${f.name}`)
  expect(orphans, "roles and databases on the server that no provisioning record names").toEqual([])
  const made = (kind: string, name: string) => found.some((f) => f.kind === kind && f.name === name)
  const missing = records
    .filter((r) => stepIndex(r.step) >= stepIndex("create_role_and_database"))
    .flatMap((r) => [
      ...(made("role", r.role_name) ? [] : [`role ${r.role_name} (at ${r.step})`]),
      ...(made("database", r.database_name) ? [] : [`database ${r.database_name} (at ${r.step})`])
    ])
  expect(missing, "roles and databases the provisioning records say were made, missing on the server").toEqual([])
  const misowned = found.filter((f) => f.kind === "database" && databases.get(f.name)?.role_name !== f.owner).map((f) => f.name)
  expect(misowned, "tenant databases not owned by their role").toEqual([])
  return { roles: found.filter((f) => f.kind === "role").length, databases: found.filter((f) => f.kind === "database").length }
}

/**
 * Nothing left behind in the tenant databases (those with the bed's prefix):
 * once their sessions have settled (a killed engine's statement finishes, then
 * its backend ends), none is idle in a transaction and none holds an advisory
 * lock (the engine's migration lock).
 */
export const checkTenantDatabasesLeftClean = async (bed: FaultBed): Promise<void> => {
  const pattern = tenantNamePattern(bed)
  await waitUntil("the tenant databases' sessions have settled", async () => {
    const [row] = await bed.pool.query(sql`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname LIKE ${pattern} AND backend_type = 'client backend' AND state NOT IN ('idle', 'idle in transaction')`)
    return row.n === 0
  })
  const [leftovers] = await bed.pool.query(sql`
    SELECT (SELECT count(*)::int FROM pg_stat_activity WHERE datname LIKE ${pattern} AND state LIKE 'idle in transaction%') AS idle_in_transaction,
           (SELECT count(*)::int FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE a.datname LIKE ${pattern} AND l.locktype = 'advisory') AS advisory_locks`)
  expect(leftovers, "left behind in the tenant databases").toEqual({ idle_in_transaction: 0, advisory_locks: 0 })
}

/**
 * 0 partial fleet runs: each run's ledger is whole (one row per database,
 * positions 0..n-1) and covers 100% of the databases it had to take (every
 * one not inactive whose provisioning had completed when the run started); a
 * finished run has no row pending or running; a row is running exactly when
 * its database is migrating (they move together, in one transaction), so
 * after a resume no database is left migrating; a succeeded row went from a
 * recorded version to the run's target. Gives the runs and what is unsettled.
 */
export const checkFleetRuns = async (bed: FaultBed) => {
  const runs = await bed.pool.query(sql`
    SELECT r.id, r.status::text, r.target_version, r.finished_at IS NOT NULL AS finished,
           array_agg(m.position ORDER BY m.position) AS positions,
           count(DISTINCT m.database_id)::int AS databases,
           count(*) FILTER (WHERE m.status IN ('pending', 'running'))::int AS unsettled,
           count(*) FILTER (WHERE m.status = 'succeeded' AND (m.version_before IS NULL OR m.version_after IS DISTINCT FROM r.target_version))::int AS unrecorded,
           ARRAY(SELECT d.id FROM control_plane.tenant_databases d
                 JOIN control_plane.tenant_provisioning p ON p.database_id = d.id
                 WHERE d.status <> 'inactive' AND p.completed_at <= r.started_at
                 EXCEPT SELECT database_id FROM control_plane.fleet_migrations WHERE run_id = r.id) AS left_out
    FROM control_plane.fleet_runs r JOIN control_plane.fleet_migrations m ON m.run_id = r.id
    GROUP BY r.id ORDER BY r.started_at`)
  for (const run of runs) {
    expect(run.positions, `run ${run.id}: the ledger's positions`).toEqual(run.positions.map((_: unknown, i: number) => i))
    expect(run.databases, `run ${run.id}: one ledger row per database`).toBe(run.positions.length)
    expect(run.left_out, `run ${run.id}: databases missing from its ledger`).toEqual([])
    expect(run.unrecorded, `run ${run.id}: succeeded rows without their versions`).toBe(0)
    expect(run.finished, `run ${run.id} (${run.status}): finished_at set exactly when it is no longer running`).toBe(run.status !== "running")
    if (run.finished) expect(run.unsettled, `run ${run.id}: rows pending or running in a finished run`).toBe(0)
  }
  const [mismatch] = await bed.pool.query(sql`
    SELECT (SELECT count(*)::int FROM control_plane.tenant_databases WHERE status = 'migrating') AS migrating,
           ARRAY(SELECT d.id FROM control_plane.tenant_databases d
                 JOIN control_plane.tenant_provisioning p ON p.database_id = d.id AND p.completed_at IS NOT NULL
                 WHERE (d.status = 'migrating') <> EXISTS (
                   SELECT 1 FROM control_plane.fleet_migrations m JOIN control_plane.fleet_runs r ON r.id = m.run_id
                   WHERE m.database_id = d.id AND m.status = 'running' AND r.status = 'running')) AS out_of_step`)
  expect(mismatch.out_of_step, "databases migrating without their ledger row running, or the reverse").toEqual([])
  return {
    runs: runs.length,
    unfinished: runs.filter((run) => !run.finished).length,
    unsettled: runs.reduce((sum, run) => sum + run.unsettled, 0),
    migrating: mismatch.migrating as number
  }
}

/**
 * A killed process's session-level advisory locks (provisioning's per-tenant
 * lock, the fleet run's) and open transactions go when PostgreSQL notices the
 * connection is gone, which is soon but not at once: waits (10 s at most)
 * until no session of the control plane or the tenant databases holds either,
 * so that the checks after it see what is left for good.
 */
const waitForKilledSessionsToEnd = (bed: FaultBed): Promise<void> => {
  const pattern = tenantNamePattern(bed)
  return waitUntil("the killed processes' sessions have ended, and their locks and transactions with them", async () => {
    const [row] = await bed.pool.query(sql`
      SELECT count(*)::int AS n FROM pg_stat_activity a
      WHERE (a.datname = ${bed.database.name} OR a.datname LIKE ${pattern})
        AND (a.state LIKE 'idle in transaction%' OR EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory'))`)
    return row.n === 0
  }, 10_000)
}

/**
 * Every check after a kill of provisioning or of a fleet run (and after the
 * re-run): checkInvariants, then the admin connection strings, the
 * provisioning records, the server's roles and databases, the tenant
 * databases left clean and the fleet ledger.
 */
export const checkPlacementInvariants = async (bed: FaultBed) => {
  await waitForKilledSessionsToEnd(bed)
  const report = await checkInvariants(bed)
  await checkTenantDatabasesLeftClean(bed)
  return {
    ...report,
    servers: await checkServerAdminStrings(bed),
    steps: await checkProvisioningRecords(bed),
    onServer: await checkServerObjects(bed),
    fleet: await checkFleetRuns(bed)
  }
}
