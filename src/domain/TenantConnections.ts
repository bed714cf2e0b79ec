/**
 * What TenantConnections reports beyond the tenant errors (TenantNotFound,
 * TenantNotActive, NoActiveDatabase in Tenant.ts): the connection budget ran
 * out, and the figures of stats().
 */
import { Schema } from "effect"

/**
 * No connection to the tenant's database could be had within the checkout
 * timeout: every connection of the global budget was in use and no idle pool
 * could be closed to make room.
 */
export class ConnectionBudgetExhausted extends Schema.TaggedError<ConnectionBudgetExhausted>()(
  "ConnectionBudgetExhausted",
  {
    tenantId: Schema.String,
    budget: Schema.Number,
    waitedMs: Schema.Number
  }
) {
  override get message(): string {
    return `No connection for tenant ${this.tenantId} within ${this.waitedMs} ms: ` +
      `all ${this.budget} connections of the budget are in use and no pool is idle`
  }
}

/** A snapshot of TenantConnections, as stats() gives it (also exported as effect Metrics). */
export interface TenantConnectionsStats {
  /** Pools open (one per tenant database in use), including those draining. */
  readonly openPools: number
  /** Connections open across all pools; never above `budget`. */
  readonly connectionsOpen: number
  /**
   * Connections taken by withTenant calls running right now: each call holds
   * one (a permit of the budget) from admission until its last statement is
   * back in the pool, though between statements the pool may lend it to another call.
   */
  readonly connectionsInUse: number
  /** Connections open but not taken by a running withTenant call. */
  readonly connectionsIdle: number
  /** The global budget (CONTROL_PLANE_CONNECTION_BUDGET). */
  readonly budget: number
  /** Callers waiting for a connection. */
  readonly waiters: number
  /** Idle pools closed to make room for another pool, since start. */
  readonly evictions: number
  /** Pools closed because nobody used them for CONTROL_PLANE_TENANT_POOL_IDLE_MS, since start. */
  readonly idleClosed: number
  /**
   * Pools drained and closed because their tenant or database changed (a new
   * connection string, host or database, or a tenant no longer active), since
   * start; new work opens a new pool.
   */
  readonly retired: number
  /** Wait for a connection, in milliseconds, over the last 1024 checkouts (0 when none yet). */
  readonly checkoutWaitMs: { readonly p50: number; readonly p99: number }
  /**
   * The resolution cache: entries held, lookups served from memory and from
   * the database, and lookups whose result was not cached because the tenant
   * changed (or the cache was flushed) while they ran: the stale write-backs
   * the generation counter prevented.
   */
  readonly resolutions: { readonly cached: number; readonly hits: number; readonly misses: number; readonly refused: number }
  /** Whether the invalidation listener is connected (the cache is only served while it is). */
  readonly listening: boolean
  /** Times the listener (re)connected, each followed by a full flush of the cache. */
  readonly listenerConnects: number
}
