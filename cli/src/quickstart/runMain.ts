/**
 * Runs a quick-start program as the process's main: Ctrl-C interrupts it, a
 * failure is one `error:` line on stderr, and the process exits with the
 * program's code (a number it succeeds with, 130 when interrupted).
 */
import { Cause, Effect, Exit, Schema } from "effect"
import { redactSecrets } from "../redact.ts"

/** A step of the quick start failed; `exitCode` is what the process ends with ("" message: already reported). */
export class QuickStartFailed extends Schema.TaggedError<QuickStartFailed>()("QuickStartFailed", {
  message: Schema.String,
  exitCode: Schema.Number
}) {}

export const runQuickStartMain = <E extends { readonly message: string }>(program: Effect.Effect<number | void, E>): void => {
  const controller = new AbortController()
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => controller.abort())
  Effect.runPromiseExit(program, { signal: controller.signal }).then((exit) => {
    if (Exit.isSuccess(exit)) return process.exit(typeof exit.value === "number" ? exit.value : 0)
    if (Cause.hasInterruptsOnly(exit.cause)) return process.exit(130)
    const failure = exit.cause.reasons.find(Cause.isFailReason)?.error
    const message = failure === undefined ? "unexpected internal failure" : failure.message
    if (message !== "") process.stderr.write(`error: ${redactSecrets(message)}\n`)
    return process.exit(failure instanceof QuickStartFailed ? failure.exitCode : 1)
  })
}
