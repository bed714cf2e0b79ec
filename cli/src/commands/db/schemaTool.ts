/**
 * Calls into src/schema (the same code as `npm run db:*`) from a command:
 * promise-returning functions become effects whose failure is one line.
 */
import { Effect, Redacted } from "effect"
import type { AtlasFailed } from "../../schema/atlas.ts"
import { databaseUrl } from "../../database.ts"
import { SchemaToolFailed } from "../../failure.ts"

const firstLine = (text: string): string => text.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? ""

/**
 * The pinned Atlas (v0.13.1) expects `lc_collate` in pg_settings, which
 * PostgreSQL removed in 16; this is how it says so.
 */
const newerServerThanAtlas = /unexpected number of rows/
const newerServerHint =
  "the pinned Atlas build supports PostgreSQL up to 15; for 16 or newer put the official atlas binary on PATH"

// By name: src/schema is loaded only when a db command runs (it is slow to load: Atlas, HCL parser).
const isAtlasFailure = (error: unknown): error is AtlasFailed => error instanceof Error && error.name === "AtlasFailed"

const describe = (what: string, error: unknown): string => {
  if (isAtlasFailure(error)) {
    const detail = firstLine(error.output)
    const hint = newerServerThanAtlas.test(error.output)
      ? ` (${newerServerHint})`
      : ""
    return `${what} failed${detail === "" ? "" : `: ${detail}`}${hint}`
  }
  // Driver errors: the first line names the problem (connection refused, auth failed), never the URL.
  const detail = error instanceof Error ? firstLine(error.message) : ""
  return `${what} failed${detail === "" ? "" : `: ${detail}`}`
}

/**
 * Runs `run(DATABASE_URL)`; a failure becomes SchemaToolFailed("<what> failed:
 * <first line>"). Pass the modules of src/schema through dynamic `import()`
 * inside `run`, so that other commands do not pay for loading them.
 */
export const withDatabaseUrl = <A>(what: string, run: (url: string) => Promise<A>) =>
  Effect.flatMap(databaseUrl, (url) =>
    Effect.tryPromise({
      try: () => run(Redacted.value(url)),
      catch: (error) => new SchemaToolFailed({ message: describe(what, error) })
    })
  )
