/**
 * The `control-plane` executable (see bin/control-plane.js, which makes sure
 * it runs under Node >= 22.19). Exit codes: 0 success, 1 a domain or runtime
 * failure, 2 a usage error, 130 interrupted.
 */
import { runCli } from "./run.ts"

// Ctrl-C or a termination request interrupts the command, which closes its pool before exiting.
const controller = new AbortController()
// Repeated signals (the terminal's and a launcher's) abort once; the timer below bounds the shutdown.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => {
    controller.abort()
    setTimeout(() => process.exit(130), 5_000).unref()
  })

runCli(process.argv.slice(2), controller.signal).then((code) => {
  process.exitCode = code
  // Whatever still holds the event loop (a stray socket) must not keep the command alive.
  setTimeout(() => process.exit(), 2_000).unref()
})
