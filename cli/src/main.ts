/**
 * The `control-plane` executable (bin/control-plane.js loads it in-process,
 * or under the project's Node when the current one is too old). Exit codes:
 * 0 success, 1 a domain or runtime failure, 2 a usage error, 130 interrupted.
 *
 * NodeRuntime.runMain turns Ctrl-C (SIGINT) and SIGTERM into interruption,
 * so the command's resources (the connection pool) are released before the
 * process ends.
 */
import { Effect } from "effect"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { cli } from "./run.ts"

NodeRuntime.runMain(
  cli(process.argv.slice(2)).pipe(
    Effect.flatMap((code) =>
      Effect.sync(() => {
        process.exitCode = code
        // Whatever might still hold the event loop must not keep a finished command alive.
        setTimeout(() => process.exit(), 2_000).unref()
      })
    ),
    Effect.provide(NodeServices.layer)
  ),
  { disableErrorReporting: true }
)
