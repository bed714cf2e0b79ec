/** What every schema script shares: reading DATABASE_URL, failing in one clear line, and cleaning up when interrupted. */
import { AtlasFailed } from "../atlas.ts"
import { dropUndroppedScratchDatabases } from "../database.ts"
import { redactSecrets } from "../../redact.ts"

export const requireDatabaseUrl = (): string => {
  const url = process.env["DATABASE_URL"]
  if (url === undefined || url === "") {
    throw new UsageError("DATABASE_URL is not set: point it at the control-plane database, e.g. postgres://user@host:5432/control_plane")
  }
  try {
    new URL(url)
  } catch {
    throw new UsageError("DATABASE_URL is not a valid postgres:// URL")
  }
  return url
}

export class UsageError extends Error {}

/** The shell's exit codes for a program ended by a signal: 128 + its number. */
const signalExitCodes = { SIGINT: 130, SIGTERM: 143 } as const

/** How long an interrupted script may spend dropping its scratch databases before it exits anyway. */
const cleanupTimeoutMs = 5_000

/**
 * On Ctrl-C (SIGINT) or SIGTERM (what `control-plane db lint|drift` sends on
 * interrupt), drops the scratch databases the script created, then exits 130
 * or 143. Without this the signal kills the process before any `finally`
 * runs, and `cp_gate_dev_*`-style databases pile up on the server. A second
 * signal exits at once. Returns whether a signal arrived.
 */
const dropScratchDatabasesOnSignal = (): (() => boolean) => {
  let interrupted = false
  const onSignal = (signal: keyof typeof signalExitCodes) => {
    const code = signalExitCodes[signal]
    if (interrupted) process.exit(code)
    interrupted = true
    console.error(`interrupted (${signal}): dropping scratch databases`)
    const deadline = new Promise((resolve) => setTimeout(resolve, cleanupTimeoutMs))
    void Promise.race([dropUndroppedScratchDatabases(), deadline]).then(() => process.exit(code))
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  return () => interrupted
}

/**
 * Runs a script's main function: exit 0 on success, 1 on failure, 2 on a
 * usage error, 130/143 when interrupted (after dropping its scratch databases).
 */
export const runScript = (main: () => Promise<void>): void => {
  const interrupted = dropScratchDatabasesOnSignal()
  main().then(
    () => {
      if (!interrupted()) process.exit(0)
    },
    (error: unknown) => {
      // Interrupted: the work failed because of it (Atlas got the signal too); the signal handler exits.
      if (interrupted()) return
      if (error instanceof UsageError) {
        console.error(`error: ${error.message}`)
        process.exit(2)
      }
      const message = error instanceof AtlasFailed ? error.message : describe(error)
      console.error(`error: ${redactSecrets(message)}`)
      process.exit(1)
    }
  )
}

/** A driver error's code and first line, never its connection details. */
const describe = (error: unknown): string => {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    const firstLine = error.message.split("\n")[0] ?? ""
    return typeof code === "string" ? `${firstLine} (${code})` : firstLine
  }
  return String(error)
}
