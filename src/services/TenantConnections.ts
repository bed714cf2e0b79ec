/**
 * TenantConnections: resolve a tenant (by id or name) and run work on a
 * connection to its active database, within a global connection budget, with
 * a resolution cache that never serves stale state.
 *
 *   withTenant("acme", (db) => db.query(sql`SELECT ...`))
 *
 * - The callback's statements go to the tenant's pool as pool.query does;
 *   a transaction holds one connection from BEGIN to COMMIT (session.ts).
 *   Each running call holds one permit of the budget, given back once its
 *   last statement's connection is back in the pool.
 * - One @databases/pg pool per tenant database, made on first use; its
 *   connection string is decrypted once, when the pool is made (pools.ts).
 * - Every pool holds at most CONTROL_PLANE_TENANT_POOL_MAX connections, and
 *   all of them together at most CONTROL_PLANE_CONNECTION_BUDGET: admission
 *   closes the least recently used idle pool for room, else the caller waits
 *   up to CONTROL_PLANE_CHECKOUT_TIMEOUT_MS (ConnectionBudgetExhausted).
 *   Pools unused for CONTROL_PLANE_TENANT_POOL_IDLE_MS close (budget.ts).
 * - Resolutions are cached by id and name and dropped when the database
 *   notifies a change to the tenant or its databases (the triggers of
 *   routines.hcl); a per-key generation counter keeps a lookup that raced an
 *   invalidation from writing back, a reconnecting listener flushes
 *   everything, and CONTROL_PLANE_RESOLVE_TTL_MS bounds any entry
 *   (resolutionCache.ts, listener.ts). A pool whose database changed, or
 *   whose tenant is no longer active, is drained and rebuilt.
 *
 * The listener and the idle sweep start with the first withTenant or resolve,
 * so a program that never routes a tenant opens no extra connection. Failures:
 * TenantNotFound, TenantNotActive (with the status), NoActiveDatabase,
 * ConnectionBudgetExhausted, DecryptionFailed (or the other DecryptErrors),
 * InvalidInput, DbError; and whatever the caller's own work fails with.
 */
import { Clock, Context, Effect, Exit, Layer, Metric, Schema } from "effect"
import type { Scope } from "effect"
import type { ConnectionPool } from "@databases/pg"
import { ConnectionStringCrypto, type DecryptError } from "../crypto/ConnectionStringCrypto.ts"
import { DatabaseConfig } from "../db/DatabaseConfig.ts"
import { Db } from "../db/Db.ts"
import { classifyPgError } from "../db/pgErrors.ts"
import type { TenantStatus } from "../domain/enums.ts"
import { checkInput, type DbError, type InvalidInput } from "../domain/errors.ts"
import { NoActiveDatabase, StoredTenantName, TenantId, TenantNotActive, TenantNotFound } from "../domain/Tenant.ts"
import { ConnectionBudgetExhausted, type TenantConnectionsStats } from "../domain/TenantConnections.ts"
import { Budget } from "./TenantConnections/budget.ts"
import { TenantConnectionsConfig } from "./TenantConnections/config.ts"
import { runListener } from "./TenantConnections/listener.ts"
import { lookupTenant } from "./TenantConnections/lookup.ts"
import { type PoolEntry, PoolRegistry, TenantPoolFactory } from "./TenantConnections/pools.ts"
import { normalizeId, ResolutionCache, type Resolution } from "./TenantConnections/resolutionCache.ts"
import { type TenantDb, TenantSession } from "./TenantConnections/session.ts"

export type { TenantDb }

/** A tenant as resolved: its status and the active database work would go to (null when none). */
export interface ResolvedTenant {
  readonly tenantId: string
  readonly name: string
  readonly status: TenantStatus
  readonly databaseId: string | null
}

/** Everything withTenant itself can fail with (besides the caller's own errors). */
export type WithTenantError =
  | TenantNotFound
  | TenantNotActive
  | NoActiveDatabase
  | ConnectionBudgetExhausted
  | DecryptError
  | InvalidInput
  | DbError

export interface TenantConnectionsService {
  /**
   * Resolves `tenant` (an id or a name), checks it is active with an active
   * database, takes one connection of the global budget for the tenant's
   * pool, and runs `use` with a TenantDb on that pool: its statements run one
   * at a time, each on a pooled connection, and a transaction holds one
   * connection until it ends. The connection goes back to the budget when
   * `use` ends and its last statement is back in the pool.
   */
  readonly withTenant: <A, E, R>(
    tenant: string,
    use: (db: TenantDb) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | WithTenantError, R>
  /** Resolves `tenant` (an id or a name), from memory when cached. */
  readonly resolve: (tenant: string) => Effect.Effect<ResolvedTenant, TenantNotFound | InvalidInput | DbError>
  /** Pools, connections, waiters, evictions, checkout wait, cache and listener, right now. */
  readonly stats: () => Effect.Effect<TenantConnectionsStats>
  /**
   * Holds `connections` permits of the global budget for the scope, for
   * connections to the tenant's database that are opened outside the pools
   * (the tooling's schema engine and seeds): they count against the budget as
   * pooled ones do, may evict idle pools to make room, and wait as a checkout
   * waits (ConnectionBudgetExhausted after the checkout timeout). At most
   * CONTROL_PLANE_TENANT_POOL_MAX permits are held at once for one reservation.
   */
  readonly reserve: (
    tenantId: string,
    connections: number
  ) => Effect.Effect<void, ConnectionBudgetExhausted | InvalidInput, Scope.Scope>
}

const decodeReference = checkInput(StoredTenantName, "tenant id or name")
const decodeReservedTenant = checkInput(TenantId, "tenant id")
const decodeConnections = checkInput(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)), "number of connections to reserve")

const notFound = (reference: string): TenantNotFound =>
  normalizeId(reference) === undefined ? new TenantNotFound({ name: reference }) : new TenantNotFound({ tenantId: reference })

/** The effect Metrics TenantConnections reports (read from its state whenever metrics are read). */
export const metrics = {
  openPools: Metric.gauge("control_plane_tenant_pools_open", { description: "Tenant database pools open" }),
  connectionsOpen: Metric.gauge("control_plane_tenant_connections_open", {
    description: "Connections open across all tenant pools (never above the budget)"
  }),
  connectionsInUse: Metric.gauge("control_plane_tenant_connections_in_use", {
    description: "Tenant connections taken by running withTenant calls"
  }),
  connectionsIdle: Metric.gauge("control_plane_tenant_connections_idle", { description: "Tenant connections open and idle" }),
  waiters: Metric.gauge("control_plane_tenant_checkout_waiters", { description: "Callers waiting for a tenant connection" }),
  evictions: Metric.counter("control_plane_tenant_pool_evictions_total", {
    description: "Idle tenant pools closed to make room for another",
    incremental: true
  }),
  checkoutWait: Metric.summary("control_plane_tenant_checkout_wait_ms", {
    description: "Wait for a tenant connection, in milliseconds",
    maxAge: "1 hour",
    maxSize: 1024,
    quantiles: [0.5, 0.99]
  })
} as const

export class TenantConnections extends Context.Service<TenantConnections, TenantConnectionsService>()(
  "control-plane/TenantConnections"
) {
  /** Needs Db (lookups), ConnectionStringCrypto, DatabaseConfig (the listener's URL) and TenantConnectionsConfig. */
  static readonly layerNoDeps = Layer.effect(
    TenantConnections,
    Effect.gen(function*() {
      const db = yield* Db
      const crypto = yield* ConnectionStringCrypto
      const database = yield* DatabaseConfig
      const settings = yield* TenantConnectionsConfig
      const makePool = yield* TenantPoolFactory
      const clock = yield* Clock.Clock
      const scope = yield* Effect.scope
      const context = yield* Effect.context<never>()
      const now = () => clock.currentTimeMillisUnsafe()

      const cache = new ResolutionCache({ ttlMs: settings.resolveTtlMs, now })
      const pools = new PoolRegistry({
        settings: { poolMax: settings.poolMax, connectTimeoutMs: database.connectTimeoutMs },
        crypto,
        makePool,
        onIdleError: (error) =>
          Effect.runForkWith(context)(
            Effect.logWarning("An idle tenant database connection failed and was dropped", classifyPgError(error)._tag)
          )
      })
      const budget = new Budget<PoolEntry>({ budget: settings.budget, poolMax: settings.poolMax, now, close: pools.close })
      pools.attach(budget)
      let listening = false
      let listenerConnects = 0
      yield* Effect.addFinalizer(() => Effect.promise(() => budget.closeAll()))

      /** A database lookup, written to the cache unless the tenant was invalidated meanwhile. */
      const load = (reference: string) =>
        Effect.suspend(() => {
          const ticket = cache.begin()
          return lookupTenant(db, reference).pipe(
            Effect.onExit((exit) => Effect.sync(() => cache.complete(ticket, Exit.isSuccess(exit) ? exit.value : undefined)))
          )
        })

      /** After a notification: a fresh lookup retires the tenant's pools that no longer match. */
      const reconcile = (tenantId: string) =>
        load(tenantId).pipe(
          Effect.tap((resolution) => Effect.sync(() => pools.reconcile(tenantId, resolution))),
          Effect.catch(() => Effect.void) // the next withTenant looks it up anyway
        )

      const onNotification = (payload: string) => {
        if (payload === "*") {
          cache.flush()
          for (const tenantId of pools.tenants()) Effect.runForkWith(context)(reconcile(tenantId))
          return
        }
        cache.invalidate(payload)
        if (pools.serves(payload)) Effect.runForkWith(context)(reconcile(payload))
      }

      const onLive = (live: boolean) => {
        listening = live
        cache.setLive(live)
        if (!live) return
        listenerConnects++
        // Changes made while it was down were never notified: check every open pool.
        for (const tenantId of pools.tenants()) Effect.runForkWith(context)(reconcile(tenantId))
      }

      const background = Effect.all([
        runListener({
          url: settings.listenerUrl ?? database.url,
          connectTimeoutMs: database.connectTimeoutMs,
          pingMs: settings.listenerPingMs,
          onLive,
          onNotification
        }),
        Effect.forever(
          Effect.sleep(Math.min(1_000, Math.max(10, Math.floor(settings.poolIdleMs / 4)))).pipe(
            Effect.andThen(Effect.sync(() => budget.closeIdle(settings.poolIdleMs)))
          )
        )
      ], { concurrency: "unbounded", discard: true })

      let started = false
      const start = Effect.suspend(() => {
        if (started) return Effect.void
        started = true
        return Effect.asVoid(Effect.forkIn(background, scope))
      })

      /** A lookup in the database (after a cache miss), starting the listener on first use. */
      const fetch = (tenant: string): Effect.Effect<Resolution, TenantNotFound | InvalidInput | DbError> =>
        start.pipe(
          Effect.andThen(decodeReference(tenant)),
          Effect.andThen((reference) => load(reference)),
          Effect.flatMap((found) => (found === undefined ? Effect.fail(notFound(tenant)) : Effect.succeed(found)))
        )

      // The hot path (every request): no span per call, as Tenants' lookups.
      const resolution = (tenant: string): Effect.Effect<Resolution, TenantNotFound | InvalidInput | DbError> =>
        Effect.suspend(() => {
          const cached = cache.lookup(tenant)
          return cached !== undefined ? Effect.succeed(cached) : fetch(tenant)
        })

      const resolve = (tenant: string) =>
        Effect.map(resolution(tenant), (found): ResolvedTenant => ({
          tenantId: found.tenantId,
          name: found.name,
          status: found.status,
          databaseId: found.database?.id ?? null
        }))

      /**
       * What one withTenant call holds: the session on the pool whose permit it
       * took. The session is opened in the same synchronous step that takes the
       * permit, and the call's finalizer, installed before any permit is taken,
       * ends whatever session is there. The fiber may be interrupted between
       * any two of its steps (the scheduler yields there after a long run), so
       * a permit taken in one step and handed to a finalizer in the next could
       * be lost for good.
       */
      interface Lease {
        session: TenantSession | undefined
      }

      /** Opens the lease's session on the entry's pool, whose permit was just taken; the permit goes back when the session ends. */
      const open = (lease: Lease, entry: PoolEntry): TenantSession =>
        (lease.session = new TenantSession(entry.pool, () => budget.release(entry)))

      /** The session on the tenant's pool, waiting for a permit if need be; again when its pool retired meanwhile. */
      const admit = (tenant: string, found: Resolution, lease: Lease): Effect.Effect<TenantSession, WithTenantError> => {
        if (found.status !== "active") {
          return Effect.fail(new TenantNotActive({ tenantId: found.tenantId, tenantName: found.name, status: found.status }))
        }
        if (found.database === null) return Effect.fail(new NoActiveDatabase({ tenantId: found.tenantId, tenantName: found.name }))
        const exhausted = (waitedMs: number) =>
          new ConnectionBudgetExhausted({ tenantId: found.tenantId, budget: settings.budget, waitedMs })
        return pools.entryFor(found.tenantId, found.database).pipe(
          Effect.flatMap((entry) =>
            Effect.flatMap(budget.acquire(entry, settings.checkoutTimeoutMs, exhausted, () => open(lease, entry)), (admission) =>
              admission === "granted"
                ? Effect.succeed(lease.session!)
                : Effect.flatMap(resolution(tenant), (again) => admit(tenant, again, lease)))
          )
        )
      }

      /** The common case, without waiting or looking anything up: a cached active tenant whose pool has room. */
      const admitNow = (found: Resolution | undefined, lease: Lease): TenantSession | undefined => {
        if (found?.status !== "active" || found.database === null) return undefined
        const entry = pools.current(found.database)
        return entry !== undefined && budget.acquireNow(entry) ? open(lease, entry) : undefined
      }

      /** Runs `use` on a session whose permit is recorded in `lease` (a defect thrown by `use` fails the effect as one). */
      const leased = <A, E, R>(tenant: string, use: (db: TenantDb) => Effect.Effect<A, E, R>, lease: Lease) =>
        Effect.suspend((): Effect.Effect<A, E | WithTenantError, R> => {
          const found = cache.lookup(tenant)
          const ready = admitNow(found, lease)
          if (ready !== undefined) return use(ready)
          return Effect.flatMap(
            Effect.flatMap(found === undefined ? fetch(tenant) : Effect.succeed(found), (resolved) => admit(tenant, resolved, lease)),
            use
          )
        })

      const withTenant = <A, E, R>(
        tenant: string,
        use: (db: TenantDb) => Effect.Effect<A, E, R>
      ): Effect.Effect<A, E | WithTenantError, R> =>
        Effect.suspend(() => {
          const lease: Lease = { session: undefined }
          // onExitPrimitive: a plain function as the finalizer (nothing to run
          // as an effect); on a warm pool every step of the fiber shows in the
          // ratio to a bare pool.query. Not marked interruptible: effect skips
          // an interruptible finalizer when the fiber is interrupted, and an
          // interrupted call must give its permit back too.
          return Effect.onExitPrimitive(leased(tenant, use, lease), () => {
            lease.session?.end()
            return undefined
          })
        })

      /**
       * A reservation is a slot of the budget with no pool behind it: its
       * permits are checkouts like any pool's, and closing it (once retired)
       * has nothing to close, so its permits come back at once.
       */
      const noPool = { dispose: () => Promise.resolve() } as unknown as ConnectionPool

      const reserve = (tenantId: string, connections: number) =>
        Effect.zip(decodeReservedTenant(tenantId), decodeConnections(connections)).pipe(Effect.andThen(
        Effect.acquireRelease(
          Effect.suspend(() => {
            const slot: PoolEntry = {
              tenantId,
              databaseId: "",
              fingerprint: "reservation",
              pool: noPool,
              held: 0,
              inUse: 0,
              lastUsed: 0, // budget.add stamps it
              retiring: false
            }
            budget.add(slot)
            const exhausted = (waitedMs: number) => new ConnectionBudgetExhausted({ tenantId, budget: settings.budget, waitedMs })
            const wanted = Math.max(1, Math.min(connections, settings.poolMax, settings.budget))
            let taken = 0
            // A permit is counted in the step that takes it (see Lease). The
            // slot retires only when the layer closes: then the reservation
            // ends as interrupted, with what it took given back.
            const take: Effect.Effect<void, ConnectionBudgetExhausted> = Effect.suspend(() =>
              taken >= wanted
                ? Effect.void
                : Effect.flatMap(
                  budget.acquire(slot, settings.checkoutTimeoutMs, exhausted, () => void taken++),
                  (admission) => admission === "granted" ? take : Effect.interrupt
                )
            )
            const giveBack = () => {
              for (let i = 0; i < taken; i++) budget.release(slot)
              budget.retire(slot)
            }
            return take.pipe(
              Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : Effect.sync(giveBack)),
              Effect.as(giveBack)
            )
          }),
          (giveBack) => Effect.sync(giveBack)
        )), Effect.asVoid)

      const stats = (): Effect.Effect<TenantConnectionsStats> =>
        Effect.sync(() => {
          const admission = budget.stats
          const { connectionsOpen, retired } = pools.stats
          return {
            openPools: admission.slots,
            connectionsOpen,
            connectionsInUse: admission.inUse,
            connectionsIdle: Math.max(0, connectionsOpen - admission.inUse),
            budget: settings.budget,
            waiters: admission.waiters,
            evictions: admission.evictions,
            idleClosed: admission.idleClosed,
            retired,
            checkoutWaitMs: admission.checkoutWaitMs,
            resolutions: cache.stats,
            listening,
            listenerConnects
          }
        })

      yield* registerMetrics(context, stats, () => budget.waitSummary)

      return TenantConnections.of({ withTenant, resolve, stats, reserve })
    })
  )

  /** TenantConnections on a Db, a key ring and settings all configured from the environment. */
  static readonly layer = TenantConnections.layerNoDeps.pipe(
    Layer.provide(Layer.mergeAll(Db.layer, ConnectionStringCrypto.layer, DatabaseConfig.layer, TenantConnectionsConfig.layer))
  )
}

/** Registers the metrics as readings of `stats` (nothing is pushed per checkout); removed when the layer closes. */
const registerMetrics = (
  context: Context.Context<never>,
  stats: () => Effect.Effect<TenantConnectionsStats>,
  waitSummary: () => { readonly count: number; readonly min: number; readonly max: number; readonly sum: number; readonly p50: number; readonly p99: number }
) => {
  const now = () => Effect.runSync(stats())
  const gauge = (metric: Metric.Gauge<number>, read: (s: TenantConnectionsStats) => number) =>
    Metric.registerUnsafe(metric, context, { get: () => ({ value: read(now()) }), update: () => {}, modify: () => {} })
  return Effect.acquireRelease(
    Effect.sync(() => [
      gauge(metrics.openPools, (s) => s.openPools),
      gauge(metrics.connectionsOpen, (s) => s.connectionsOpen),
      gauge(metrics.connectionsInUse, (s) => s.connectionsInUse),
      gauge(metrics.connectionsIdle, (s) => s.connectionsIdle),
      gauge(metrics.waiters, (s) => s.waiters),
      Metric.registerUnsafe(metrics.evictions, context, {
        get: () => ({ count: now().evictions, incremental: true }),
        update: () => {},
        modify: () => {}
      }),
      Metric.registerUnsafe(metrics.checkoutWait, context, {
        get: () => {
          const { count, min, max, sum, p50, p99 } = waitSummary()
          return { quantiles: [[0.5, p50], [0.99, p99]] as const, count, min, max, sum }
        },
        update: () => {},
        modify: () => {}
      })
    ]),
    (registrations) => Effect.sync(() => registrations.forEach((registration) => registration.remove()))
  )
}
