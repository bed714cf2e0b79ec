/**
 * One @databases/pg pool per tenant database, made lazily on the first
 * checkout: the connection string is decrypted once, when the pool is made,
 * and goes straight from Redacted into the pool's constructor.
 *
 * A pool is tied to what it connects to (its fingerprint: record id,
 * encrypted connection string, host, port, database name). When a lookup
 * finds the database changed, or a notification says the tenant changed and
 * a fresh lookup confirms it (`reconcile`), the old pool is retired: it takes
 * no new checkouts, finishes those in flight, then closes. New work opens a
 * new pool.
 *
 * The pools keep idle connections until the whole pool closes (their own idle
 * timeout is off): the budget closes idle pools (CONTROL_PLANE_TENANT_POOL_IDLE_MS)
 * and evicts the least recently used one when another pool needs room.
 */
import pg from "@databases/pg"
import type { ConnectionPool, ConnectionPoolConfig } from "@databases/pg"
import { Context, Effect, Redacted } from "effect"
import type { ConnectionStringCrypto, DecryptError } from "../../crypto/ConnectionStringCrypto.ts"
import { refusalReason } from "../../db/Db.ts"
import { ConnectionStringRefused, DbError } from "../../domain/errors.ts"
import type { Budget, CloseReason, Slot } from "./budget.ts"
import type { ResolvedDatabase, Resolution } from "./resolutionCache.ts"

/** application_name of every tenant pool connection (it shows in pg_stat_activity), unless the connection string sets one. */
export const tenantPoolApplicationName = "control-plane tenant pool"

/**
 * How a tenant database's pool is made: the driver's own constructor. An
 * internal hook, not exported from the package, for the tests and the bench
 * to see the pools made: bench/tenantConnections.ts times plain `pool.query`
 * on the very pool withTenant uses, so that the ratio compares the same
 * connections. A replacement must hand the options to the driver unchanged
 * (the budget relies on poolSize and idleTimeoutMilliseconds); whatever it
 * throws is reported as the driver refusing the connection string.
 */
export const TenantPoolFactory = Context.Reference<(config: ConnectionPoolConfig) => ConnectionPool>(
  "control-plane/TenantConnections/TenantPoolFactory",
  { defaultValue: () => pg.default }
)

export interface PoolEntry extends Slot {
  readonly tenantId: string
  readonly databaseId: string
  readonly fingerprint: string
  readonly pool: ConnectionPool
}

export interface PoolSettings {
  readonly poolMax: number
  readonly connectTimeoutMs: number
}


export class PoolRegistry {
  readonly #byDatabase = new Map<string, PoolEntry>()
  readonly #settings: PoolSettings
  readonly #crypto: ConnectionStringCrypto["Service"]
  readonly #onIdleError: (error: Error) => void
  readonly #makePool: (config: ConnectionPoolConfig) => ConnectionPool
  #budget: Budget<PoolEntry> | undefined
  #opened = 0
  #closed = 0
  #retired = 0

  constructor(options: {
    readonly settings: PoolSettings
    readonly crypto: ConnectionStringCrypto["Service"]
    /** A pooled connection failed while idle (the pool drops it). */
    readonly onIdleError: (error: Error) => void
    readonly makePool: (config: ConnectionPoolConfig) => ConnectionPool
  }) {
    this.#settings = options.settings
    this.#crypto = options.crypto
    this.#onIdleError = options.onIdleError
    this.#makePool = options.makePool
  }

  /** The budget whose slots these pools are (set once, right after both are made). */
  attach(budget: Budget<PoolEntry>): void {
    this.#budget = budget
  }

  /** Closes a pool for the budget: resolves once every connection of it is closed. */
  close = async (entry: PoolEntry, _reason: CloseReason): Promise<void> => {
    if (this.#byDatabase.get(entry.databaseId) === entry) this.#byDatabase.delete(entry.databaseId)
    await entry.pool.dispose()
  }

  /** The pool for the tenant's active database as resolved now, made (and the connection string decrypted) if needed. */
  entryFor(tenantId: string, database: ResolvedDatabase): Effect.Effect<PoolEntry, DecryptError | DbError> {
    return Effect.suspend(() => {
      const fingerprint = database.fingerprint
      const current = this.#current(database.id, fingerprint)
      if (current !== undefined) return Effect.succeed(current)
      // The layer is closing (closeAll ran): a pool made now would never be closed.
      if (this.#budget!.closed) return Effect.interrupt
      return this.#crypto.decrypt(database.envelope, { tenantId, databaseId: database.id }).pipe(
        Effect.flatMap((url) => {
          // Another fiber may have made it while this one decrypted, or the layer began closing.
          const made = this.#current(database.id, fingerprint)
          if (made !== undefined) return Effect.succeed(made)
          if (this.#budget!.closed) return Effect.interrupt
          const stale = this.#byDatabase.get(database.id)
          if (stale !== undefined) this.#retire(stale)
          let pool: ConnectionPool
          try {
            pool = this.#makePool({
              connectionString: Redacted.value(url),
              applicationName: tenantPoolApplicationName,
              bigIntMode: "bigint",
              poolSize: this.#settings.poolMax,
              // Idle connections stay until the pool closes: the budget decides when.
              idleTimeoutMilliseconds: 0,
              connectionTimeoutMilliseconds: this.#settings.connectTimeoutMs,
              onConnectionOpened: () => void this.#opened++,
              onConnectionClosed: () => void this.#closed++,
              onError: this.#onIdleError
            })
          } catch (error) {
            // The services refuse such a string when it is registered; this one was written around them.
            return Effect.fail(new DbError({ reason: new ConnectionStringRefused({ detail: refusalReason(url, error) }) }))
          }
          const entry: PoolEntry = {
            tenantId,
            databaseId: database.id,
            fingerprint,
            held: 0,
            inUse: 0,
            lastUsed: 0, // budget.add stamps it
            retiring: false,
            pool
          }
          this.#byDatabase.set(database.id, entry)
          this.#budget!.add(entry)
          return Effect.succeed(entry)
        })
      )
    })
  }

  /** The open pool for the database as resolved, if there is one that takes checkouts. */
  current(database: ResolvedDatabase): PoolEntry | undefined {
    return this.#current(database.id, database.fingerprint)
  }

  #current(databaseId: string, fingerprint: string): PoolEntry | undefined {
    const entry = this.#byDatabase.get(databaseId)
    return entry !== undefined && entry.fingerprint === fingerprint && !entry.retiring ? entry : undefined
  }

  #retire(entry: PoolEntry): void {
    if (this.#byDatabase.get(entry.databaseId) === entry) this.#byDatabase.delete(entry.databaseId)
    if (!entry.retiring) this.#retired++
    this.#budget!.retire(entry)
  }

  /** Whether any open pool serves the tenant (only those are worth a fresh lookup after a notification). */
  serves(tenantId: string): boolean {
    for (const entry of this.#byDatabase.values()) if (entry.tenantId === tenantId) return true
    return false
  }

  /** The tenants that have open pools. */
  tenants(): ReadonlyArray<string> {
    return [...new Set([...this.#byDatabase.values()].map((entry) => entry.tenantId))]
  }

  /**
   * Retires the tenant's pools that no longer match what it resolves to now
   * (undefined: the tenant is gone): its active database changed, moved, or
   * it is no longer active. In-flight work on them finishes first.
   */
  reconcile(tenantId: string, resolution: Resolution | undefined): void {
    const wanted = resolution?.status === "active" && resolution.database !== null
      ? resolution.database.fingerprint
      : undefined
    for (const entry of [...this.#byDatabase.values()]) {
      if (entry.tenantId === tenantId && entry.fingerprint !== wanted) this.#retire(entry)
    }
  }

  get stats() {
    return { connectionsOpen: this.#opened - this.#closed, retired: this.#retired }
  }
}
