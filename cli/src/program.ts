/**
 * The `control-plane` program, run as it is imported (by main.ts). Exit
 * codes: 0 success, 1 a domain or runtime failure, 2 a usage error, 130
 * interrupted.
 *
 * NodeRuntime.runMain turns Ctrl-C (SIGINT) and SIGTERM into interruption,
 * so the command's resources (the connection pool) are released before the
 * process ends.
 */
import { Effect } from "effect"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { cli } from "./run.ts"

// Output that could not be written (a full disk, a closed pipe) fails the
// command: exit 0 would say that a new key or a revealed secret was delivered.
let outputLost = false
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  outputLost = true
  process.exitCode = 1
  // A reader that stopped reading (`| head`) needs no message.
  if (error.code !== "EPIPE") process.stderr.write(`error: the output could not be written (${error.code ?? error.message})\n`)
})

NodeRuntime.runMain(
  cli(process.argv.slice(2)).pipe(
    Effect.flatMap((code) =>
      Effect.sync(() => {
        process.exitCode = outputLost && code === 0 ? 1 : code
        // Whatever might still hold the event loop must not keep a finished command alive.
        setTimeout(() => process.exit(), 2_000).unref()
      })
    ),
    Effect.provide(NodeServices.layer)
  ),
  { disableErrorReporting: true }
)
