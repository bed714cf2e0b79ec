/**
 * The connection budget's admission policy on its own: slots stand for pools,
 * `close` is a promise the test resolves, so evictions, waits, timeouts and
 * interruptions are played out exactly. The property at the end drives random
 * checkouts, releases, retirements and closes and checks that the permits
 * held (the connections pools may have open) never exceed the budget.
 */
import { Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Budget, type CloseReason, type Slot } from "../../../src/services/TenantConnections/budget.ts"

interface TestSlot extends Slot {
  readonly name: string
}

const slot = (name: string): TestSlot => ({ name, held: 0, inUse: 0, lastUsed: 0, retiring: false })

/** A budget whose closes wait for the test: `closes` lists them, `finish` resolves them. */
const makeBudget = (budget: number, poolMax: number) => {
  let time = 0
  const closes: Array<{ slot: TestSlot; reason: CloseReason; finish: () => void }> = []
  const instance = new Budget<TestSlot>({
    budget,
    poolMax,
    now: () => time,
    close: (closing, reason) => new Promise<void>((finish) => closes.push({ slot: closing, reason, finish }))
  })
  const add = (name: string) => {
    const s = slot(name)
    instance.add(s)
    return s
  }
  return { budget: instance, closes, add, tick: (ms: number) => (time += ms) }
}

const exhausted = (waitedMs: number) => ({ _tag: "Exhausted" as const, waitedMs })
const noop = () => {}
const flush = () => new Promise((resolve) => setTimeout(resolve, 0))

describe("Budget", () => {
  it("grants up to the per-pool maximum and the budget, reusing a slot's own permits first", () => {
    const { budget, add } = makeBudget(3, 2)
    const a = add("a")
    const b = add("b")
    expect([budget.tryAcquire(a), budget.tryAcquire(a), budget.tryAcquire(a)]).toEqual([true, true, false]) // pool max 2
    budget.release(a)
    expect(budget.tryAcquire(a)).toBe(true) // its own permit, no new one
    expect(budget.tryAcquire(b)).toBe(true)
    expect(budget.tryAcquire(b)).toBe(false) // budget 3 reached
    expect(budget.stats).toMatchObject({ held: 3, inUse: 3, free: 0 })
  })

  it("at the budget, a new pool's checkout evicts the least recently used idle pool and gets its permits once closed", async () => {
    const { budget, closes, add, tick } = makeBudget(2, 1)
    const [a, b, c] = [add("a"), add("b"), add("c")]
    budget.tryAcquire(a)
    tick(10)
    budget.tryAcquire(b)
    budget.release(a) // a idle since t=10
    tick(10)
    budget.release(b) // b idle since t=20
    const waiting = Effect.runFork(budget.acquire(c, 1_000, exhausted, noop))
    await flush()
    expect(closes.map((close) => [close.slot.name, close.reason])).toEqual([["a", "evicted"]])
    expect(budget.stats).toMatchObject({ waiters: 1, free: 0, evictions: 1 })
    closes[0]!.finish() // a's connections are closed: only now is its permit free
    expect(await Effect.runPromise(Fiber.join(waiting))).toBe("granted")
    expect(budget.stats).toMatchObject({ held: 2, inUse: 1, waiters: 0 })
    expect(a.held).toBe(0)
  })

  it("with nothing idle to evict, the caller waits and is served by the next release, in arrival order", async () => {
    const { budget, add } = makeBudget(1, 1)
    const [a, b, c] = [add("a"), add("b"), add("c")]
    budget.tryAcquire(a)
    const first = Effect.runFork(budget.acquire(a, 1_000, exhausted, noop))
    const second = Effect.runFork(budget.acquire(a, 1_000, exhausted, noop))
    const other = Effect.runFork(budget.acquire(b, 1_000, exhausted, noop)) // needs a's permit: a is busy, nothing to evict
    await flush()
    expect(budget.stats.waiters).toBe(3)
    budget.release(a)
    expect(await Effect.runPromise(Fiber.join(first))).toBe("granted")
    expect(budget.stats.waiters).toBe(2)
    budget.release(a)
    expect(await Effect.runPromise(Fiber.join(second))).toBe("granted")
    expect(c.held).toBe(0)
    await Effect.runPromise(Fiber.interrupt(other))
  })

  it("gives up after the timeout with the time waited, and leaves no waiter behind", async () => {
    const { budget, add } = makeBudget(1, 1)
    const [a, b] = [add("a"), add("b")]
    budget.tryAcquire(a)
    const exit = await Effect.runPromiseExit(budget.acquire(b, 30, exhausted, noop))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(JSON.stringify(exit)).toContain("Exhausted")
    expect(budget.stats).toMatchObject({ waiters: 0, held: 1, free: 0 })
  })

  it("an interrupted wait leaves no waiter and takes no permit", async () => {
    const { budget, add } = makeBudget(1, 1)
    const [a, b] = [add("a"), add("b")]
    budget.tryAcquire(a)
    const waiting = Effect.runFork(budget.acquire(b, 1_000, exhausted, noop))
    await flush()
    await Effect.runPromise(Fiber.interrupt(waiting))
    expect(budget.stats.waiters).toBe(0)
    budget.release(a)
    expect(budget.stats).toMatchObject({ held: 1, inUse: 0, free: 0 })
    expect(b.held).toBe(0)
  })

  it("a retired pool takes no new checkouts, closes after its last one ends, and sends its waiters to look again", async () => {
    const { budget, closes, add } = makeBudget(2, 1)
    const a = add("a")
    budget.tryAcquire(a)
    const waiting = Effect.runFork(budget.acquire(a, 1_000, exhausted, noop))
    await flush()
    budget.retire(a)
    expect(await Effect.runPromise(Fiber.join(waiting))).toBe("retired")
    expect(budget.tryAcquire(a)).toBe(false)
    expect(closes).toEqual([]) // in-flight work finishes first
    budget.release(a)
    expect(closes.map((close) => [close.slot.name, close.reason])).toEqual([["a", "retired"]])
  })

  it("closes pools nobody used for the idle time, and only those", () => {
    const { budget, closes, add, tick } = makeBudget(4, 1)
    const [a, b] = [add("a"), add("b")]
    budget.tryAcquire(a)
    budget.release(a)
    tick(100)
    budget.tryAcquire(b)
    budget.closeIdle(50)
    expect(closes.map((close) => [close.slot.name, close.reason])).toEqual([["a", "idle"]])
    expect(budget.stats.idleClosed).toBe(1)
  })

  it("a pool made but not yet checked out is as new as it was made: the idle sweep leaves it alone until the idle time passes", () => {
    const { budget, closes, add, tick } = makeBudget(4, 1)
    tick(1_000)
    add("fresh") // its first checkout is still a few steps away
    budget.closeIdle(50)
    expect(closes).toEqual([])
    tick(60)
    budget.closeIdle(50)
    expect(closes.map((close) => [close.slot.name, close.reason])).toEqual([["fresh", "idle"]])
  })

  it("records checkout waits for the percentiles", async () => {
    const { budget, add, tick } = makeBudget(1, 1)
    const a = add("a")
    budget.tryAcquire(a)
    const waiting = Effect.runFork(budget.acquire(a, 1_000, exhausted, noop))
    await flush()
    tick(40)
    budget.release(a)
    await Effect.runPromise(Fiber.join(waiting))
    expect(budget.waitSummary).toMatchObject({ count: 1, max: 40, p50: 40, p99: 40 })
  })

  it("property: whatever happens, the permits held never exceed the budget, and every permit is accounted for", async () => {
    type Op =
      | { readonly kind: "acquire"; readonly slot: number }
      | { readonly kind: "release"; readonly slot: number }
      | { readonly kind: "retire"; readonly slot: number }
      | { readonly kind: "finishClose" }
      | { readonly kind: "interrupt" }
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant("acquire" as const), slot: fc.nat(5) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant("release" as const), slot: fc.nat(5) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("retire" as const), slot: fc.nat(5) }) },
      { weight: 2, arbitrary: fc.constant({ kind: "finishClose" as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: "interrupt" as const }) }
    )
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.array(op, { maxLength: 40 }), async (total, poolMax, ops) => {
        const { budget, closes, add } = makeBudget(total, poolMax)
        let slots = Array.from({ length: 6 }, (_, i) => add(`s${i}`))
        const waiting: Array<Fiber.Fiber<unknown, unknown>> = []
        for (const o of ops) {
          switch (o.kind) {
            case "acquire":
              waiting.push(Effect.runFork(budget.acquire(slots[o.slot]!, 10_000, exhausted, noop)))
              break
            case "release":
              if (slots[o.slot]!.inUse > 0) budget.release(slots[o.slot]!)
              break
            case "retire": {
              budget.retire(slots[o.slot]!)
              const fresh = add(`s${o.slot}-again`)
              slots = slots.map((s, i) => (i === o.slot ? fresh : s))
              break
            }
            case "finishClose":
              closes.shift()?.finish()
              break
            case "interrupt": {
              const fiber = waiting.shift()
              if (fiber !== undefined) await Effect.runPromise(Fiber.interrupt(fiber))
              break
            }
          }
          await flush()
          // `held` counts closing pools too: their permits are only free once they are closed.
          const { held, free } = budget.stats
          expect(held).toBeLessThanOrEqual(total)
          expect(free + held).toBe(total)
          for (const s of slots) expect(s.inUse).toBeLessThanOrEqual(s.held)
        }
        for (const fiber of waiting) await Effect.runPromise(Fiber.interrupt(fiber))
      }),
      { numRuns: 200 }
    )
  })
})
