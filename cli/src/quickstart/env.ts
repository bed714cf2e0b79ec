/**
 * `npm run env`: the `export` lines that point a shell, an example or your own
 * program at the quick start's control plane (its database, started when it
 * is not running, and its key ring):
 *
 *   eval "$(npm run -s env)"
 *
 * They hold secrets (the database password, the keys): they go to stdout only.
 */
import { Console, Effect, Redacted } from "effect"
import { ENCRYPTION_KEYS_VAR, PRIMARY_KEY_ID_VAR } from "../library.ts"
import { quickStartFiles } from "./files.ts"
import { localControlPlane } from "./local.ts"
import { QuickStartFailed, runQuickStartMain } from "./runMain.ts"

/** A value quoted for a POSIX shell. */
const shellQuote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`

runQuickStartMain(
  Effect.gen(function*() {
    const local = yield* localControlPlane(quickStartFiles(), { create: false })
    if (local === undefined) {
      return yield* new QuickStartFailed({ message: "there is no quick-start database yet: run `npm start` first", exitCode: 2 })
    }
    const lines = [`export DATABASE_URL=${shellQuote(Redacted.value(local.url))}`]
    for (const name of [ENCRYPTION_KEYS_VAR, PRIMARY_KEY_ID_VAR]) {
      const value = local.settings[name]
      if (value !== undefined) lines.push(`export ${name}=${shellQuote(value)}`)
    }
    yield* Console.log(lines.join("\n"))
  })
)
