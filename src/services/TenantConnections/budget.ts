/**
 * The global connection budget and admission of checkouts, over abstract
 * slots (one per tenant database pool). Pure bookkeeping plus one injected
 * `close`, so the policy is tested without a database.
 *
 * The guarantee: the connections open across all pools never exceed the
 * budget. A slot owns `held` permits, one per connection its pool may have
 * open; its pool (@databases/pg) only opens a connection when every open one
 * is checked out, and checkouts of the pool never exceed `inUse` (<= `held`):
 * each checkout here stands for one withTenant call, whose session has at most
 * one checkout of the pool in flight and ends its checkout here only once that
 * connection is back in the pool (session.ts). So a pool's open connections
 * never exceed `held` either. Permits come back to the budget only once a
 * pool's connections are closed (after `close` resolves), never while they
 * still show in pg_stat_activity.
 *
 * A checkout takes, in order: a permit its slot already holds and is not
 * using; a free permit of the budget (up to `poolMax` per slot); otherwise it
 * waits, and the least recently used idle slot (no checkout in flight) is
 * closed to free its permits (an eviction). Nothing evictable: the caller waits
 * until a permit is released or `timeoutMs` passes (then `exhausted`). Waiters
 * are served in arrival order, skipping those that cannot be served yet.
 */
import { Effect } from "effect"

/** What the budget knows of one pool. */
export interface Slot {
  /** Permits owned: the most connections the pool may have open. */
  held: number
  /** Checkouts in flight. */
  inUse: number
  /** When the last checkout ended (or the slot was made), for LRU eviction and idle closing of slots not in use. */
  lastUsed: number
  /** No new checkouts: the pool is being replaced or closed. */
  retiring: boolean
}

/** Why a slot was closed. */
export type CloseReason = "evicted" | "idle" | "retired"

/** How a wait for a checkout ended: served, or the slot retired meanwhile (look the pool up again). */
export type Admission = "granted" | "retired"

interface Waiter<S extends Slot> {
  readonly slot: S
  readonly since: number
  settled: boolean
  /** Called when the waiter's checkout is taken, in the same step (see `acquire`). */
  readonly onGranted: () => void
  resume: (admission: Admission) => void
}

/** Waits kept for the checkout-wait percentiles. */
const waitSamples = 1024

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!

export class Budget<S extends Slot> {
  readonly budget: number
  readonly #poolMax: number
  readonly #now: () => number
  readonly #close: (slot: S, reason: CloseReason) => Promise<void>
  #free: number
  readonly #slots = new Set<S>()
  readonly #closing = new Set<S>()
  #waiters: Array<Waiter<S>> = []
  #evictions = 0
  #idleClosed = 0
  readonly #waits = new Float64Array(waitSamples)
  #waitCount = 0
  #closed = false

  constructor(options: {
    readonly budget: number
    readonly poolMax: number
    readonly now: () => number
    /** Closes the slot's pool; resolves once its connections are closed. */
    readonly close: (slot: S, reason: CloseReason) => Promise<void>
  }) {
    this.budget = options.budget
    this.#free = options.budget
    this.#poolMax = options.poolMax
    this.#now = options.now
    this.#close = options.close
  }

  /**
   * Starts tracking a new slot (no permits yet), as just used: it is not idle
   * before its first checkout. After `closeAll` it starts out retiring, so it is never granted.
   */
  add(slot: S): void {
    slot.lastUsed = this.#now()
    if (this.#closed) slot.retiring = true
    this.#slots.add(slot)
  }

  /** `closeAll` was called: nothing more is granted. */
  get closed(): boolean {
    return this.#closed
  }

  /** Takes a checkout on `slot` at once if that is possible without waiting (never after `closeAll`: every slot is retiring then). */
  tryAcquire(slot: S): boolean {
    if (slot.retiring) return false
    if (slot.inUse < slot.held) {
      slot.inUse++
    } else if (slot.held < this.#poolMax && this.#free > 0) {
      this.#free--
      slot.held++
      slot.inUse++
    } else {
      return false
    }
    // No time stamp here (the clock is the dearest step of a warm checkout):
    // a slot in use is never idle nor evicted, and `release` stamps it.
    return true
  }

  /** `tryAcquire`, counted as a checkout that did not wait (for the percentiles). */
  acquireNow(slot: S): boolean {
    if (!this.tryAcquire(slot)) return false
    this.#recordWait(0)
    return true
  }

  /**
   * A checkout on `slot`: at once when possible, else after waiting (evicting
   * idle slots for room). Fails with `exhausted(waitedMs)` after `timeoutMs`.
   * An interrupted wait leaves no trace.
   *
   * `onGranted` runs in the same synchronous step that takes the checkout,
   * before this effect resumes: the caller records there what it must give
   * back, in a finalizer it installed before calling this. The fiber may be
   * interrupted between any two of its steps (the scheduler can yield there),
   * so a checkout taken in one step and recorded in the next could be lost.
   */
  acquire<E>(slot: S, timeoutMs: number, exhausted: (waitedMs: number) => E, onGranted: () => void): Effect.Effect<Admission, E> {
    return Effect.suspend(() => {
      if (this.acquireNow(slot)) {
        onGranted()
        return Effect.succeed<Admission>("granted")
      }
      if (slot.retiring) return Effect.succeed<Admission>("retired")
      return Effect.callback<Admission, E>((resume) => {
        const waiter: Waiter<S> = {
          slot,
          since: this.#now(),
          settled: false,
          onGranted,
          resume: (admission) => {
            waiter.settled = true
            clearTimeout(timer)
            this.#recordWait(this.#now() - waiter.since)
            resume(Effect.succeed(admission))
          }
        }
        const timer = setTimeout(() => {
          if (waiter.settled) return
          waiter.settled = true
          this.#waiters = this.#waiters.filter((w) => w !== waiter)
          const waited = this.#now() - waiter.since
          this.#recordWait(waited)
          resume(Effect.fail(exhausted(waited)))
        }, timeoutMs)
        this.#waiters.push(waiter)
        this.#pump()
        return Effect.sync(() => {
          clearTimeout(timer)
          if (waiter.settled) return
          waiter.settled = true
          this.#waiters = this.#waiters.filter((w) => w !== waiter)
          this.#pump()
        })
      })
    })
  }

  /** Ends a checkout. A retiring slot closes once its last checkout ends. */
  release(slot: S): void {
    // Only a slot not in use is idle or evictable, so only its last checkout's end is worth a time stamp.
    if (--slot.inUse === 0) slot.lastUsed = this.#now()
    if (slot.retiring && slot.inUse === 0) this.#startClose(slot, "retired")
    this.#pump()
  }

  /**
   * No new checkouts on `slot`; it closes once those in flight end (at once
   * when none is). Its waiters are told to look their pool up again.
   */
  retire(slot: S, reason: CloseReason = "retired"): void {
    if (slot.retiring) return
    slot.retiring = true
    for (const waiter of this.#waiters.filter((w) => w.slot === slot)) {
      this.#waiters = this.#waiters.filter((w) => w !== waiter)
      waiter.resume("retired")
    }
    if (slot.inUse === 0) this.#startClose(slot, reason)
  }

  /** Closes the slots nobody used for `idleMs` (the idle pool timeout). */
  closeIdle(idleMs: number): void {
    const cutoff = this.#now() - idleMs
    for (const slot of this.#slots) {
      if (!slot.retiring && slot.inUse === 0 && slot.lastUsed <= cutoff && !this.#isWaitedFor(slot)) {
        this.retire(slot, "idle")
      }
    }
  }

  /** Retires every slot (the layer is closing) and resolves once all are closed; nothing is granted after. */
  async closeAll(): Promise<void> {
    this.#closed = true
    for (const slot of this.#slots) this.retire(slot)
    while (this.#closing.size > 0 || [...this.#slots].some((slot) => slot.inUse > 0)) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  #isWaitedFor(slot: S): boolean {
    return this.#waiters.some((waiter) => waiter.slot === slot)
  }

  #startClose(slot: S, reason: CloseReason): void {
    if (this.#closing.has(slot) || !this.#slots.has(slot)) return
    this.#closing.add(slot)
    if (reason === "evicted") this.#evictions++
    if (reason === "idle") this.#idleClosed++
    const finished = () => {
      // The pool's connections are closed: only now do its permits count as free.
      this.#closing.delete(slot)
      this.#slots.delete(slot)
      this.#free += slot.held
      slot.held = 0
      this.#pump()
    }
    this.#close(slot, reason).then(finished, finished)
  }

  /** Permits that will be free once the slots now closing are closed. */
  #incoming(): number {
    let total = 0
    for (const slot of this.#closing) total += slot.held
    return total
  }

  /** Serves the waiters that can be served, in order; evicts idle slots for those that need a new permit. */
  #pump(): void {
    // Every checkout that ends comes here: with nobody waiting there is nothing to serve or evict for.
    if (this.#waiters.length === 0) return
    let needPermits = 0
    for (const waiter of [...this.#waiters]) {
      if (waiter.settled) continue
      if (this.tryAcquire(waiter.slot)) {
        this.#waiters = this.#waiters.filter((w) => w !== waiter)
        waiter.onGranted()
        waiter.resume("granted")
      } else if (waiter.slot.held < this.#poolMax) {
        needPermits++
      }
    }
    let coming = this.#incoming()
    while (needPermits > coming) {
      const victim = this.#leastRecentlyUsedIdle()
      if (victim === undefined) return
      coming += victim.held
      this.retire(victim, "evicted")
    }
  }

  #leastRecentlyUsedIdle(): S | undefined {
    let victim: S | undefined
    for (const slot of this.#slots) {
      if (slot.retiring || slot.inUse > 0 || slot.held === 0 || this.#isWaitedFor(slot)) continue
      if (victim === undefined || slot.lastUsed < victim.lastUsed) victim = slot
    }
    return victim
  }

  #recordWait(ms: number): void {
    this.#waits[this.#waitCount % waitSamples] = ms
    this.#waitCount++
  }

  /** The checkout waits kept (the last 1024), in milliseconds: count, min, max, sum, median and 99th percentile. */
  get waitSummary() {
    const samples = Array.from(this.#waits.subarray(0, Math.min(this.#waitCount, waitSamples))).sort((a, b) => a - b)
    return {
      count: samples.length,
      min: samples[0] ?? 0,
      max: samples[samples.length - 1] ?? 0,
      sum: samples.reduce((total, wait) => total + wait, 0),
      p50: percentile(samples, 0.5),
      p99: percentile(samples, 0.99)
    }
  }

  get stats() {
    let held = 0
    let inUse = 0
    for (const slot of this.#slots) {
      held += slot.held
      inUse += slot.inUse
    }
    const { p50, p99 } = this.waitSummary
    return {
      slots: this.#slots.size,
      held,
      inUse,
      free: this.#free,
      waiters: this.#waiters.length,
      evictions: this.#evictions,
      idleClosed: this.#idleClosed,
      checkoutWaitMs: { p50, p99 }
    }
  }
}
