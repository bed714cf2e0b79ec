/**
 * The resolution cache: a tenant's id, name, status and active database, by id
 * and by name, served from memory while push invalidation is live.
 *
 * It never serves stale state, for three reasons:
 *
 *   - Nothing is served while the listener is down (`setLive(false)`), and
 *     going live again flushes everything: a notification that was missed
 *     while disconnected cannot leave an old entry behind (PostgreSQL never
 *     replays NOTIFY).
 *   - A per-key generation counter: every lookup that goes to the database
 *     takes a ticket (the invalidation sequence number when it started), and
 *     its result is only written back if that tenant was not invalidated, and
 *     nothing flushed, after the ticket. A lookup that read the old row before
 *     an UPDATE committed and returns after its notification is dropped.
 *   - A TTL: an entry is served for at most `ttlMs`, whatever happens.
 *
 * Only existing tenants are cached (whatever their status); a lookup that
 * finds nothing is not, so creating a tenant needs no invalidation.
 */
import type { TenantStatus } from "../../domain/enums.ts"

/** The tenant database withTenant routes to: the encrypted connection string and what identifies the server. */
export interface ResolvedDatabase {
  readonly id: string
  /** The connection string as stored: encrypted, bound to its row. */
  readonly envelope: string
  readonly host: string
  readonly port: number
  readonly databaseName: string
  /** All of the above in one string: a pool made for one fingerprint never serves another. */
  readonly fingerprint: string
}

/** What a tenant reference resolves to. `database` is its active database, null when it has none. */
export interface Resolution {
  readonly tenantId: string
  readonly name: string
  readonly status: TenantStatus
  readonly database: ResolvedDatabase | null
}

interface Entry {
  readonly value: Resolution
  readonly expiresAt: number
}

const uuidShape = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Tenant ids come back from PostgreSQL in lower case; a reference in upper case names the same tenant. */
export const normalizeId = (reference: string): string | undefined =>
  reference.length === 36 && uuidShape.test(reference) ? reference.toLowerCase() : undefined

/** An opaque ticket: the invalidation sequence number when a database lookup started. */
export type Ticket = number

export class ResolutionCache {
  readonly #ttlMs: number
  readonly #now: () => number
  readonly #maxTracked: number
  readonly #byId = new Map<string, Entry>()
  readonly #idByName = new Map<string, string>()
  // The generation counters: the sequence number of each tenant's latest
  // invalidation, and of the latest flush. Only needed while a lookup that
  // started before them is still running, hence pruned when none is.
  #sequence = 0
  #flushedAt = 0
  readonly #invalidatedAt = new Map<string, number>()
  #inFlight = 0
  #live = false
  #hits = 0
  #misses = 0
  #refused = 0

  constructor(options: { readonly ttlMs: number; readonly now: () => number; readonly maxTracked?: number }) {
    this.#ttlMs = options.ttlMs
    this.#now = options.now
    this.#maxTracked = options.maxTracked ?? 10_000
  }

  /** The cached resolution of an id or a name (an id first, as the database lookup does), if it may be served. */
  lookup(reference: string): Resolution | undefined {
    // Callers pass what their callers gave, before it is decoded: anything but
    // a string is a miss here, and the lookup behind the cache refuses it.
    const found = this.#live && typeof reference === "string" ? this.#find(reference) : undefined
    if (found === undefined) this.#misses++
    else this.#hits++
    return found
  }

  #find(reference: string): Resolution | undefined {
    const id = normalizeId(reference)
    const entry = (id === undefined ? undefined : this.#byId.get(id)) ?? this.#byName(reference)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= this.#now()) {
      this.#remove(entry.value.tenantId)
      return undefined
    }
    return entry.value
  }

  #byName(name: string): Entry | undefined {
    const id = this.#idByName.get(name)
    return id === undefined ? undefined : this.#byId.get(id)
  }

  /** Call before looking a tenant up in the database; pass the ticket to `complete`. */
  begin(): Ticket {
    this.#inFlight++
    return this.#sequence
  }

  /**
   * Ends a lookup begun with `ticket`, caching `found` unless the tenant was
   * invalidated, or the cache flushed or not live, since. Gives whether it was cached.
   */
  complete(ticket: Ticket, found: Resolution | undefined): boolean {
    this.#inFlight--
    const current = found !== undefined && this.#live && ticket >= this.#flushedAt &&
      (this.#invalidatedAt.get(found.tenantId) ?? 0) <= ticket
    if (current) this.#store(found)
    else if (found !== undefined && this.#live) this.#refused++
    // No lookup older than now is running: no ticket can be compared with the counters any more.
    if (this.#inFlight === 0) this.#invalidatedAt.clear()
    return current
  }

  #store(value: Resolution): void {
    this.#remove(value.tenantId)
    const holder = this.#idByName.get(value.name)
    if (holder !== undefined) this.#remove(holder) // another tenant had this name when it was cached
    this.#byId.set(value.tenantId, { value, expiresAt: this.#now() + this.#ttlMs })
    this.#idByName.set(value.name, value.tenantId)
  }

  #remove(tenantId: string): void {
    const entry = this.#byId.get(tenantId)
    if (entry === undefined) return
    this.#byId.delete(tenantId)
    if (this.#idByName.get(entry.value.name) === tenantId) this.#idByName.delete(entry.value.name)
  }

  /** The tenant changed (a notification named it): drop it, and refuse lookups begun before now. */
  invalidate(tenantId: string): void {
    const id = normalizeId(tenantId) ?? tenantId
    this.#remove(id)
    this.#sequence++
    if (this.#inFlight === 0) return
    if (this.#invalidatedAt.size >= this.#maxTracked) {
      // Too many to track one by one: refuse every lookup begun before now instead.
      this.#flushedAt = this.#sequence
      this.#invalidatedAt.clear()
    } else {
      this.#invalidatedAt.set(id, this.#sequence)
    }
  }

  /** Drop everything and refuse every lookup begun before now (a reconnect, a TRUNCATE). */
  flush(): void {
    this.#byId.clear()
    this.#idByName.clear()
    this.#invalidatedAt.clear()
    this.#flushedAt = ++this.#sequence
  }

  /**
   * Whether push invalidation is connected. Either way the cache is flushed:
   * going down, what it holds can no longer be trusted; coming up, changes
   * made while it was down were never notified.
   */
  setLive(live: boolean): void {
    this.#live = live
    this.flush()
  }

  get live(): boolean {
    return this.#live
  }

  /** Entries, lookups served from memory and not, and results not written back because the tenant changed meanwhile. */
  get stats(): { readonly cached: number; readonly hits: number; readonly misses: number; readonly refused: number } {
    return { cached: this.#byId.size, hits: this.#hits, misses: this.#misses, refused: this.#refused }
  }

  /** The ids of the tenants cached right now (tests compare them with the database). */
  cachedTenants(): ReadonlyArray<Resolution> {
    return [...this.#byId.values()].map((entry) => entry.value)
  }
}
