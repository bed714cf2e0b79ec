/**
 * Tenant databases for TenantConnections tests: empty databases made
 * concurrently and cheaply (copies of template0, STRATEGY FILE_COPY), and
 * tenants registered for them in a control-plane database, active, with their
 * connection strings encrypted and bound to their rows as the service does.
 */
import { randomBytes, randomUUID } from "node:crypto"
import pg, { sql } from "@databases/pg"
import type { ConnectionPool, ConnectionPoolConfig } from "@databases/pg"
import { Effect, Layer, Redacted } from "effect"
import type { ConnectionStringCrypto } from "../../src/crypto/ConnectionStringCrypto.ts"
import { TenantPoolFactory } from "../../src/services/TenantConnections/pools.ts"
import { adminUrl, siblingUrl, withConnection } from "./testDatabase.ts"

export interface TenantDatabase {
  readonly name: string
  readonly url: string
}

export interface Fleet {
  readonly databases: ReadonlyArray<TenantDatabase>
  /** Drops every database of the fleet (closing whatever is still connected). */
  readonly drop: () => Promise<void>
}

/** Runs `each` over `items` with at most `width` at a time. */
const inParallel = async <A>(items: ReadonlyArray<A>, width: number, each: (item: A) => Promise<unknown>) => {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await each(items[next++]!)
  }))
}

/** `count` empty databases named cp_test_<label>_<random>_<i>, `width` made at a time. */
export const createTenantDatabases = async (label: string, count: number, width = 8): Promise<Fleet> => {
  const admin = adminUrl()
  const prefix = `cp_test_${label}_${randomBytes(4).toString("hex")}`
  const names = Array.from({ length: count }, (_, i) => `${prefix}_${i}`)
  const pool = pg.default({ connectionString: admin, poolSize: width, bigIntMode: "bigint" })
  const created: Array<string> = []
  const drop = async () => {
    const dropping = pg.default({ connectionString: admin, poolSize: width, bigIntMode: "bigint" })
    try {
      await inParallel(created, width, (name) => dropping.query(sql`DROP DATABASE IF EXISTS ${sql.ident(name)} WITH (FORCE)`))
    } finally {
      await dropping.dispose()
    }
  }
  try {
    await inParallel(names, width, async (name) => {
      created.push(name)
      await pool.query(sql`CREATE DATABASE ${sql.ident(name)} TEMPLATE template0 STRATEGY FILE_COPY`)
    })
  } catch (error) {
    await pool.dispose()
    await drop()
    throw error
  }
  await pool.dispose()
  return { databases: names.map((name) => ({ name, url: siblingUrl(admin, name) })), drop }
}

export interface RegisteredTenant {
  readonly tenantId: string
  readonly name: string
  readonly databaseId: string
  readonly database: TenantDatabase
}

/** The envelope `crypto` makes of `url` for the row (tenantId, databaseId). */
export const envelopeFor = (crypto: ConnectionStringCrypto["Service"], url: string, tenantId: string, databaseId: string) =>
  Effect.runSync(crypto.encrypt(Redacted.make(url), { tenantId, databaseId }))

/**
 * One active tenant per database given (named `<label>-<i>-<random>`), each
 * with that database registered active: in three statements, as psql would.
 */
export const registerTenants = (
  controlPlaneUrl: string,
  crypto: ConnectionStringCrypto["Service"],
  label: string,
  databases: ReadonlyArray<TenantDatabase>
): Promise<ReadonlyArray<RegisteredTenant>> =>
  withConnection(controlPlaneUrl, async (db) => {
    const run = randomBytes(3).toString("hex")
    const names = databases.map((_, i) => `${label}-${i}-${run}`)
    const rows = await db.query(sql`
      INSERT INTO control_plane.tenants (name, environment, status)
      SELECT name, 'development', 'pending' FROM unnest(${names}::text[]) WITH ORDINALITY AS t(name, i) ORDER BY i
      RETURNING tenant_id, name`) as Array<{ tenant_id: string; name: string }>
    const idByName = new Map(rows.map((row) => [row.name, row.tenant_id]))
    const tenants = databases.map((database, i): RegisteredTenant => ({
      tenantId: idByName.get(names[i]!)!,
      name: names[i]!,
      databaseId: randomUUID(),
      database
    }))
    await db.query(sql`
      INSERT INTO control_plane.tenant_databases (id, tenant_id, connection_string_encrypted, database_name, host, status)
      SELECT id, tenant_id, envelope, database_name, '127.0.0.1', 'active'
      FROM unnest(${tenants.map((t) => t.databaseId)}::uuid[], ${tenants.map((t) => t.tenantId)}::uuid[],
                  ${tenants.map((t) => envelopeFor(crypto, t.database.url, t.tenantId, t.databaseId))}::text[],
                  ${tenants.map((t) => t.database.name)}::text[]) AS v(id, tenant_id, envelope, database_name)`)
    await db.query(sql`
      UPDATE control_plane.tenants SET status = 'active' WHERE tenant_id = ANY(${tenants.map((t) => t.tenantId)}::uuid[])`)
    return tenants
  })

/**
 * TenantPoolFactory as the layer has it (the driver's own constructor), with
 * every pool it makes recorded in `made`, with its options, in order.
 */
export const recordingPoolFactory = () => {
  const made: Array<{ readonly config: ConnectionPoolConfig; readonly pool: ConnectionPool }> = []
  const layer = Layer.succeed(TenantPoolFactory, (config) => {
    const pool = pg.default(config)
    made.push({ config, pool })
    return pool
  })
  return { made, layer }
}
