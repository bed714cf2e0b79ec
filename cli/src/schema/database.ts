/**
 * What the schema scripts need of a PostgreSQL server: run SQL on a URL, and
 * create or drop a scratch database beside it (Atlas's dev database, tests).
 */
import pg, { sql } from "@databases/pg"
import type { ConnectionPool } from "@databases/pg"
import { randomBytes } from "node:crypto"

/** Opens a one-connection pool on the URL, runs `use`, and always closes it. */
export const withConnection = async <A>(url: string, use: (db: ConnectionPool) => Promise<A>): Promise<A> => {
  const db = pg.default({ connectionString: url, bigIntMode: "bigint", poolSize: 1 })
  try {
    return await use(db)
  } finally {
    await db.dispose()
  }
}

/** Runs a script of one or more SQL statements. */
export const runSql = (url: string, script: string): Promise<void> =>
  withConnection(url, async (db) => {
    await db.query(sql.__dangerous__rawValue(script))
  })

/** The URL of another database on the same server, with the same credentials and options. */
export const siblingUrl = (url: string, database: string): string => {
  const parsed = new URL(url)
  parsed.pathname = `/${encodeURIComponent(database)}`
  return parsed.toString()
}

/**
 * Atlas (lib/pq) insists on TLS unless told otherwise, where psql and
 * @databases/pg prefer it. Loopback servers rarely speak TLS, so a URL to one
 * that says nothing about sslmode gets `sslmode=disable`.
 */
export const atlasUrl = (url: string): string => {
  const parsed = new URL(url)
  const loopback = ["localhost", "127.0.0.1", "[::1]", ""].includes(parsed.hostname)
  if (loopback && !parsed.searchParams.has("sslmode")) parsed.searchParams.set("sslmode", "disable")
  return parsed.toString()
}

/**
 * The scratch databases this process created and has not dropped yet: name to
 * the URL it was created through, and the CREATE itself, which a drop must
 * wait for (a DROP racing an uncommitted CREATE finds nothing to drop).
 */
const undropped = new Map<string, { readonly url: string; readonly created: Promise<unknown> }>()

/** Creates an empty database with a unique name on the server of `url`. */
export const createScratchDatabase = async (url: string, prefix: string): Promise<{ name: string; url: string }> => {
  const name = `${prefix}_${randomBytes(5).toString("hex")}`
  // Registered before the CREATE is sent, so an interrupt during it still drops it.
  const created = withConnection(url, (db) => db.query(sql`CREATE DATABASE ${sql.ident(name)}`))
  undropped.set(name, { url, created })
  try {
    await created
  } catch (error) {
    undropped.delete(name)
    throw error
  }
  return { name, url: siblingUrl(url, name) }
}

/** Drops a database, closing whatever sessions are still connected to it. */
export const dropDatabase = async (url: string, name: string): Promise<void> => {
  await withConnection(url, async (db) => {
    await db.query(sql`DROP DATABASE IF EXISTS ${sql.ident(name)} WITH (FORCE)`)
  })
  undropped.delete(name)
}

/**
 * Drops every scratch database this process created and has not dropped yet
 * (the cleanup of an interrupted script). Best effort: a database that cannot
 * be dropped is left, the others are still dropped.
 */
export const dropUndroppedScratchDatabases = async (): Promise<void> => {
  await Promise.allSettled(
    [...undropped].map(async ([name, { url, created }]) => {
      await created.catch(() => undefined)
      await dropDatabase(url, name)
    })
  )
}

/**
 * Runs `use` with a fresh, empty database on the server of `url`, dropped
 * afterwards. When `use` fails, its error is the one reported: a drop that
 * fails too (often for the same reason, a server gone away) must not hide it.
 * After a success, a failed drop is reported.
 */
export const withScratchDatabase = async <A>(
  url: string,
  prefix: string,
  use: (scratch: { name: string; url: string }) => Promise<A>
): Promise<A> => {
  const scratch = await createScratchDatabase(url, prefix)
  let result: A
  try {
    result = await use(scratch)
  } catch (error) {
    await dropDatabase(url, scratch.name).catch(() => undefined)
    throw error
  }
  await dropDatabase(url, scratch.name)
  return result
}
