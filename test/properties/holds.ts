/**
 * The property both property suites check of every call: it ends in success,
 * or in a typed failure whose tag the call declares (no defect, no
 * interruption), and a failure wrote nothing (the fingerprint of the tables
 * is unchanged).
 */
import { Cause, type Effect, Exit, type ManagedRuntime } from "effect"
import { expect } from "vitest"

export const makeHolds = <Services>(
  runtime: () => ManagedRuntime.ManagedRuntime<Services, unknown>,
  fingerprint: Effect.Effect<string, unknown, Services>
) =>
async (allowed: ReadonlyArray<string>, call: Effect.Effect<unknown, unknown, Services>): Promise<void> => {
  const before = await runtime().runPromise(fingerprint)
  const exit = await runtime().runPromiseExit(call)
  if (Exit.isSuccess(exit)) return
  const failure = exit.cause.reasons.find(Cause.isFailReason)
  expect(failure, `not a typed failure: ${Cause.pretty(exit.cause).split("\n")[0]}`).toBeDefined()
  expect(exit.cause.reasons.every(Cause.isFailReason), "a defect or interruption beside the failure").toBe(true)
  const tag = (failure!.error as { readonly _tag?: unknown })._tag
  expect(allowed, `undeclared error ${String(tag)}: ${String((failure!.error as Error).message)}`).toContain(tag)
  expect(await runtime().runPromise(fingerprint), `${String(tag)} after a write`).toBe(before)
}
