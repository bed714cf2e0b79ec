/** What every schema script shares: reading DATABASE_URL and failing in one clear line. */
import { AtlasFailed } from "../atlas.ts"

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

/** Runs a script's main function: exit 0 on success, 1 on failure, 2 on a usage error. */
export const runScript = (main: () => Promise<void>): void => {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      if (error instanceof UsageError) {
        console.error(`error: ${error.message}`)
        process.exit(2)
      }
      // Atlas's own output names statements and objects, never the URL we pass in its environment.
      const message = error instanceof AtlasFailed ? error.message : describe(error)
      console.error(`error: ${message}`)
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
