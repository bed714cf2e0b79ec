/**
 * Helpers for proving that secrets stay out of what people read: every way an
 * error gets rendered, and every log line a test produced.
 */
import { inspect } from "node:util"
import { assert } from "@effect/vitest"
import { Cause, Effect, Layer, Logger, References } from "effect"

/** The renderings an error meets on its way to a log or a terminal. */
export const renderings = (error: unknown): ReadonlyArray<string> => [
  String(error),
  JSON.stringify(error),
  error instanceof Error ? error.message : "",
  error instanceof Error ? error.stack ?? "" : "",
  inspect(error, { depth: 10 }),
  Cause.pretty(Cause.fail(error))
]

/** Fails the test when any text holds any of the secrets (nothing printed but the rendering's index). */
export const assertNoSecrets = (texts: ReadonlyArray<string>, secrets: ReadonlyArray<string>): void => {
  for (const [i, text] of texts.entries()) {
    for (const [j, secret] of secrets.entries()) {
      // Printing the text on failure would print the secret: report positions only.
      assert.isFalse(text.includes(secret), `text #${i} contains secret #${j}`)
    }
  }
}

/** Captures every log line (JSON, annotations and cause included) at every level. */
export const makeLogCapture = () => {
  const lines: Array<string> = []
  const logger = Logger.make((options) => {
    lines.push(Logger.formatJson.log(options), Logger.formatLogFmt.log(options))
  })
  const layer = Layer.merge(
    Logger.layer([logger]),
    Layer.succeed(References.MinimumLogLevel, "All")
  )
  return { lines, layer }
}

/** Runs `effect` with the capture installed. */
export const withLogCapture = <A, E, R>(capture: ReturnType<typeof makeLogCapture>, effect: Effect.Effect<A, E, R>) =>
  Effect.provide(effect, capture.layer)
