/**
 * What the provisioning and fleet tests share: a migrated control-plane
 * database of the file's own, a key ring, the local PostgreSQL registered as
 * the database server, and a name prefix unique to the file, so that every
 * role and database the file's tenants get can be found and dropped at the
 * end (even after a test failed half-way).
 */
import { execFile } from "node:child_process"
import { randomBytes } from "node:crypto"
import { cp, mkdtemp, readdir, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import pg from "@databases/pg"
import { Context, Effect, Layer, Redacted, Result } from "effect"
import { ConnectionStringCrypto } from "../../src/crypto/ConnectionStringCrypto.ts"
import { KeyRing } from "../../src/crypto/KeyRing.ts"
import { DatabaseConfig } from "../../src/db/DatabaseConfig.ts"
import { Db, sql } from "../../src/db/Db.ts"
import * as ControlPlane from "../../src/ControlPlane.ts"
import { Actor } from "../../src/services/Actor.ts"
import { DatabaseServers } from "../../src/services/DatabaseServers.ts"
import { projectFile } from "../../cli/src/schema/paths.ts"
import { ControlPlaneLocks } from "../../cli/src/fleet/advisoryLock.ts"
import { ConnectionBudget } from "../../cli/src/fleet/ConnectionBudget.ts"
import { Provisioning } from "../../cli/src/fleet/Provisioning.ts"
import { TenantSchema } from "../../cli/src/fleet/TenantSchema.ts"
import { adminUrl, createMigratedTestDatabase, type TestDatabase, withConnection } from "../support/testDatabase.ts"

/** A fresh 32-byte key ring, with its environment form for the CLI. */
export const newKeyRing = () => {
  const material = randomBytes(32)
  const ring = Result.getOrThrow(KeyRing.make([{ id: "fleet-test" as never, material: Redacted.make(new Uint8Array(material)) }], "fleet-test"))
  return {
    ring,
    env: {
      CONTROL_PLANE_ENCRYPTION_KEYS: `fleet-test:${material.toString("base64")}`,
      CONTROL_PLANE_PRIMARY_KEY_ID: "fleet-test"
    }
  }
}

/** A role and database name prefix of this file's own: `tp<8 hex>_`. */
export const newNamePrefix = (): string => `tp${randomBytes(4).toString("hex")}_`

/**
 * Drops every database and role whose name starts with `prefix` (the file's
 * tenants'). The databases four at a time: each DROP DATABASE waits for a
 * checkpoint, and drops waiting together share one (10 databases: 15-60 s one
 * by one on a busy machine, 3-4 s four at a time).
 */
export const dropByPrefix = async (prefix: string): Promise<void> => {
  const db = pg.default({ connectionString: adminUrl(), bigIntMode: "bigint", poolSize: 4 })
  try {
    const pattern = `${prefix}%`
    const databases = await db.query(sql`SELECT datname FROM pg_database WHERE datname LIKE ${pattern}`)
    await Promise.all(databases.map(({ datname }) => db.query(sql`DROP DATABASE IF EXISTS ${sql.ident(datname)} WITH (FORCE)`)))
    const roles = await db.query(sql`SELECT rolname FROM pg_roles WHERE rolname LIKE ${pattern}`)
    for (const { rolname } of roles) await db.query(sql`DROP ROLE IF EXISTS ${sql.ident(rolname)}`)
  } finally {
    await db.dispose()
  }
}

export interface FleetFixture {
  readonly controlPlane: TestDatabase
  readonly keyRing: ReturnType<typeof newKeyRing>
  readonly prefix: string
}

/** The file's control plane, key ring and prefix; on release, its tenants' databases and roles are dropped. */
export class Fixture extends Context.Service<Fixture, FleetFixture>()("test/fleet/Fixture") {
  static readonly layer = (label: string) =>
    Layer.effect(
      Fixture,
      Effect.acquireRelease(
        Effect.promise(async () => ({
          controlPlane: await createMigratedTestDatabase(label),
          keyRing: newKeyRing(),
          prefix: newNamePrefix()
        })),
        (fixture) =>
          Effect.promise(async () => {
            await dropByPrefix(fixture.prefix)
            await fixture.controlPlane.drop()
          })
      )
    )
}

/** The library's services on `url` with `ring` (Tenants, TenantDatabases, DatabaseServers, ..., Db, crypto), acting as "fleet-test". */
export const libraryOn = (url: string, ring: KeyRing) =>
  ControlPlane.layerNoDeps.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        Db.layerNoDeps.pipe(Layer.provide(DatabaseConfig.layerWith({ url: Redacted.make(url), poolSize: 4 }))),
        Layer.succeed(ConnectionStringCrypto, ConnectionStringCrypto.fromKeyRing(ring)),
        Layer.orDie(Actor.layer("fleet-test"))
      )
    )
  )

/** Advisory locks on the control plane at `url`, through connections of their own. */
export const locksOn = (url: string) =>
  ControlPlaneLocks.layerNoDeps.pipe(Layer.provide(DatabaseConfig.layerWith({ url: Redacted.make(url) })))

/** Provisioning (and the library under it) on the control plane at `url`. */
export const provisioningOn = (url: string, ring: KeyRing, budget = 8) =>
  Provisioning.layerNoDeps.pipe(
    Layer.provideMerge(Layer.mergeAll(TenantSchema.layer, ConnectionBudget.layerOf(budget), locksOn(url))),
    Layer.provideMerge(libraryOn(url, ring))
  )

/** Provisioning on the fixture's control plane. */
export const provisioningLayer = Layer.unwrap(
  Effect.map(Fixture, (fixture) => provisioningOn(fixture.controlPlane.url, fixture.keyRing.ring))
)

/** The local server's admin URL with another port (a proxy's). */
export const adminUrlVia = (port: number): string => {
  const url = new URL(adminUrl())
  url.port = String(port)
  return url.toString()
}

/**
 * Registers the tests' server (CONTROL_PLANE_ADMIN_URL, the local one by
 * default) as a database server named `name`, tenant databases reached at
 * its host and port.
 */
export const addLocalServer = (name: string, maxDatabases = 100) =>
  Effect.flatMap(DatabaseServers, (servers) => {
    const url = new URL(adminUrl())
    return servers.add({
      name,
      host: url.hostname,
      port: Number(url.port || 5432),
      adminConnectionString: Redacted.make(url.toString()),
      maxDatabases
    })
  })

/** How many databases and roles named `name` the local server has (a provisioned tenant's database and role share it). */
export const databasesAndRolesNamed = (name: string) =>
  withConnection(adminUrl(), (db) =>
    db.query(sql`SELECT (SELECT count(*)::int FROM pg_database WHERE datname = ${name}) AS databases,
                        (SELECT count(*)::int FROM pg_roles WHERE rolname = ${name}) AS roles`))

/** A unique tenant name for one test. */
export const tenantName = (label: string): string => `${label}-${randomBytes(3).toString("hex")}`

/** Rows of the control plane, read with a connection of their own. */
export const controlPlaneRows = <Row>(url: string, query: ReturnType<typeof sql>): Promise<ReadonlyArray<Row>> =>
  withConnection(url, (db) => db.query(query)) as Promise<ReadonlyArray<Row>>

/** Tenants that exist without a provisioning record, among those whose name starts with `label`. */
export const tenantsWithoutRecord = async (url: string, label: string): Promise<number> => {
  const rows = await controlPlaneRows<{ n: number }>(
    url,
    sql`SELECT count(*)::int AS n FROM control_plane.tenants t
        LEFT JOIN control_plane.tenant_provisioning p USING (tenant_id)
        WHERE p.tenant_id IS NULL AND t.name LIKE ${`${label}%`}`
  )
  return rows[0]!.n
}

/**
 * A scratch copy of the tenant template (tenant/) with `migrations` added
 * after its newest one, atlas.sum re-hashed by the engine; removed with the
 * scope. Gives the folder and the versions added.
 */
export const scratchTemplate = (migrations: ReadonlyArray<{ readonly name: string; readonly sql: string }>) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const root = await mkdtemp(path.join(tmpdir(), "cp-tenant-template-"))
      await cp(projectFile("tenant"), root, { recursive: true })
      const existing = (await readdir(path.join(root, "migrations"))).filter((f) => f.endsWith(".sql")).sort()
      const latest = Number(existing.at(-1)!.split("_")[0])
      const versions = migrations.map((_, i) => String(latest + 1_000_000 + i))
      for (const [i, migration] of migrations.entries()) {
        await writeFile(path.join(root, "migrations", `${versions[i]}_${migration.name}.sql`), migration.sql)
      }
      await promisify(execFile)(projectFile(".bin/control-plane-engine"), [
        "migrate", "hash", "--config", path.join(root, "atlas.hcl"), "--env", "local", "--format", "json"
      ], { cwd: root, env: {} })
      return { root, versions }
    }),
    ({ root }) => Effect.promise(() => rm(root, { recursive: true, force: true }))
  )
