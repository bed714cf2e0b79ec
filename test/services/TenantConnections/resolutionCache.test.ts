/**
 * The resolution cache on its own, with a fake clock and hand-made
 * interleavings: what a race with the database would do, made deterministic.
 * The property at the end plays random interleavings of lookups, commits and
 * (late) notifications and checks the cache never holds a value older than
 * the last change it was told about.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type Resolution, ResolutionCache } from "../../../src/services/TenantConnections/resolutionCache.ts"

const id = "0f6f1b0e-5d7c-4c2a-9a53-2b1e8f7d3c11"
const resolution = (overrides: Partial<Resolution> = {}): Resolution => ({
  tenantId: id,
  name: "acme",
  status: "active",
  database: { id: "db-1", envelope: "v1:k:AAAA", host: "db.internal", port: 5432, databaseName: "acme", fingerprint: "db-1" },
  ...overrides
})

const liveCache = (now: () => number = () => 0, ttlMs = 60_000) => {
  const cache = new ResolutionCache({ ttlMs, now })
  cache.setLive(true)
  return cache
}

/** A database lookup that found `found`, begun and completed at once. */
const cacheNow = (cache: ResolutionCache, found: Resolution) => cache.complete(cache.begin(), found)

describe("ResolutionCache", () => {
  it("serves a completed lookup by id (any case) and by name", () => {
    const cache = liveCache()
    expect(cacheNow(cache, resolution())).toBe(true)
    expect(cache.lookup(id)).toEqual(resolution())
    expect(cache.lookup(id.toUpperCase())).toEqual(resolution())
    expect(cache.lookup("acme")).toEqual(resolution())
    expect(cache.lookup("other")).toBeUndefined()
    expect(cache.stats).toEqual({ cached: 1, hits: 3, misses: 1, refused: 0 })
  })

  it("serves nothing, and keeps nothing, while push invalidation is not live", () => {
    const cache = new ResolutionCache({ ttlMs: 60_000, now: () => 0 })
    expect(cacheNow(cache, resolution())).toBe(false)
    cache.setLive(true)
    cacheNow(cache, resolution())
    cache.setLive(false) // the listener lost its connection
    expect(cache.lookup(id)).toBeUndefined()
    cache.setLive(true) // back: changes made meanwhile were never notified, so nothing old survives
    expect(cache.lookup(id)).toBeUndefined()
  })

  it("a lookup begun before an invalidation of its tenant is not written back; one begun after is", () => {
    const cache = liveCache()
    const early = cache.begin() // read the row before the UPDATE committed
    cache.invalidate(id) // the UPDATE's notification arrives
    const late = cache.begin() // read the row after it
    expect(cache.complete(early, resolution({ status: "active" }))).toBe(false)
    expect(cache.stats.refused).toBe(1)
    expect(cache.lookup(id)).toBeUndefined()
    expect(cache.complete(late, resolution({ status: "suspended" }))).toBe(true)
    expect(cache.lookup(id)?.status).toBe("suspended")
  })

  it("an invalidation of another tenant does not block a lookup", () => {
    const cache = liveCache()
    const ticket = cache.begin()
    cache.invalidate("11111111-1111-4111-8111-111111111111")
    expect(cache.complete(ticket, resolution())).toBe(true)
  })

  it("a flush drops everything and refuses every lookup begun before it", () => {
    const cache = liveCache()
    cacheNow(cache, resolution())
    const before = cache.begin()
    cache.flush()
    expect(cache.lookup("acme")).toBeUndefined()
    expect(cache.complete(before, resolution())).toBe(false)
    expect(cacheNow(cache, resolution())).toBe(true)
  })

  it("an entry is served for the TTL at most", () => {
    let time = 1_000
    const cache = liveCache(() => time, 500)
    cacheNow(cache, resolution())
    time += 499
    expect(cache.lookup(id)).toBeDefined()
    time += 1
    expect(cache.lookup(id)).toBeUndefined()
    expect(cache.lookup("acme")).toBeUndefined()
  })

  it("a rename replaces the old name; a name taken over by another tenant points to that one", () => {
    const cache = liveCache()
    cacheNow(cache, resolution())
    cache.invalidate(id)
    cacheNow(cache, resolution({ name: "acme-renamed" }))
    expect(cache.lookup("acme")).toBeUndefined()
    expect(cache.lookup("acme-renamed")?.tenantId).toBe(id)
    const other = "22222222-2222-4222-8222-222222222222"
    cacheNow(cache, resolution({ tenantId: other, name: "acme-renamed" }))
    expect(cache.lookup("acme-renamed")?.tenantId).toBe(other)
    expect(cache.lookup(id)).toBeUndefined()
  })

  it("past maxTracked invalidations during a lookup, every earlier lookup is refused (a bounded barrier)", () => {
    const cache = new ResolutionCache({ ttlMs: 60_000, now: () => 0, maxTracked: 2 })
    cache.setLive(true)
    const ticket = cache.begin()
    for (const other of ["a", "b", "c"]) cache.invalidate(other)
    expect(cache.complete(ticket, resolution())).toBe(false)
  })

  it("property: after any interleaving, no cached value is older than the last change notified for it", () => {
    // The database holds a version per tenant. A lookup reads the version at
    // some moment and completes later; a change commits a new version, and
    // its notification arrives later still, possibly after other lookups.
    const tenants = ["00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"]
    type Step =
      | { readonly kind: "read"; readonly tenant: number }
      | { readonly kind: "finish"; readonly which: number }
      | { readonly kind: "commit"; readonly tenant: number }
      | { readonly kind: "notify"; readonly which: number }
      | { readonly kind: "reconnect" }
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant("read" as const), tenant: fc.nat(1) }),
      fc.record({ kind: fc.constant("finish" as const), which: fc.nat(5) }),
      fc.record({ kind: fc.constant("commit" as const), tenant: fc.nat(1) }),
      fc.record({ kind: fc.constant("notify" as const), which: fc.nat(5) }),
      fc.constant({ kind: "reconnect" as const })
    )
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const cache = liveCache()
        const version = [0, 0]
        const notified = [0, 0] // the newest version whose notification arrived
        const lookups: Array<{ ticket: number; tenant: number; read: number }> = []
        const pending: Array<{ tenant: number; version: number }> = [] // notifications not delivered yet
        const versionOf = (found: Resolution | undefined) => (found === undefined ? undefined : Number(found.name))
        for (const s of steps) {
          switch (s.kind) {
            case "read": {
              // A miss goes to the database: the ticket is taken first, then the row is read.
              const ticket = cache.begin()
              lookups.push({ ticket, tenant: s.tenant, read: version[s.tenant]! })
              break
            }
            case "finish": {
              const lookup = lookups.splice(s.which % Math.max(lookups.length, 1), 1)[0]
              if (lookup === undefined) break
              cache.complete(lookup.ticket, resolution({ tenantId: tenants[lookup.tenant]!, name: String(lookup.read) }))
              break
            }
            case "commit":
              version[s.tenant]!++
              pending.push({ tenant: s.tenant, version: version[s.tenant]! })
              break
            case "notify": {
              // Notifications arrive in commit order.
              const next = pending.shift()
              if (next === undefined) break
              notified[next.tenant] = next.version
              cache.invalidate(tenants[next.tenant]!)
              break
            }
            case "reconnect":
              // Notifications in flight are lost, the listener comes back and flushes.
              for (const lost of pending.splice(0)) notified[lost.tenant] = lost.version
              cache.setLive(false)
              cache.setLive(true)
              break
          }
          tenants.forEach((tenant, i) => {
            const cached = versionOf(cache.lookup(tenant))
            if (cached !== undefined) expect(cached).toBeGreaterThanOrEqual(notified[i]!)
          })
        }
      }),
      { numRuns: 500 }
    )
  })
})
