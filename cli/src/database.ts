/**
 * DATABASE_URL for the commands that hand it to the schema tools (the
 * services read it themselves, through DatabaseConfig).
 */
import { Config, Effect, Redacted } from "effect"
import { UsageError } from "./failure.ts"

/** DATABASE_URL, checked to be a postgres:// URL; a UsageError (exit 2) when missing or malformed. */
export const databaseUrl: Effect.Effect<Redacted.Redacted<string>, UsageError> = Effect.gen(function*() {
  const url = yield* Config.option(Config.Redacted("DATABASE_URL")).pipe(
    Effect.mapError(() => new UsageError({ message: "DATABASE_URL could not be read" }))
  )
  if (url._tag === "None" || Redacted.value(url.value).trim() === "") {
    return yield* new UsageError({
      message: "DATABASE_URL is not set: set it to the connection string of the control-plane database"
    })
  }
  const valid = URL.canParse(Redacted.value(url.value)) &&
    /^postgres(ql)?:$/.test(new URL(Redacted.value(url.value)).protocol)
  if (!valid) return yield* new UsageError({ message: "DATABASE_URL is not a valid PostgreSQL URL" })
  return url.value
})
