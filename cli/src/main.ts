/**
 * The `control-plane` executable (bin/control-plane.js starts it under Node
 * >= 22.19). Exit codes: 0 success, 1 a domain or runtime failure, 2 a usage
 * error, 130 interrupted.
 *
 * NodeRuntime.runMain turns Ctrl-C (SIGINT) and SIGTERM into interruption,
 * so the command's resources (the connection pool) are released before the
 * process ends.
 */
import { Effect } from "effect"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { cli } from "./run.ts"

NodeRuntime.runMain(
  Effect.flatMap(cli(process.argv.slice(2)), (code) =>
    Effect.sync(() => {
      process.exitCode = code
      // Whatever might still hold the event loop must not keep a finished command alive.
      setTimeout(() => process.exit(), 2_000).unref()
    })),
  { disableErrorReporting: true }
)
