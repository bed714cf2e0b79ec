/**
 * Where `databases register` takes the connection string from: never an
 * argument (arguments end up in shell history and in every process listing),
 * but stdin, a hidden prompt on a terminal, or an environment variable named
 * with --from-env. Host, port and database name are read from the string
 * when the flags do not give them. Errors never quote the string.
 */
import { Config, Effect, Option, Redacted } from "effect"
import { Prompt } from "effect/cli"
import { UsageError } from "../../failure.ts"
import { readStdin, stdinIsTerminal } from "../../terminal.ts"

const fromEnvironment = (name: string) =>
  Config.option(Config.Redacted(name)).pipe(
    Effect.mapError(() => new UsageError({ message: `environment variable ${name} could not be read` })),
    Effect.flatMap((value) =>
      Option.isSome(value) && Redacted.value(value.value).trim() !== ""
        ? Effect.succeed(Redacted.make(Redacted.value(value.value).trim()))
        : Effect.fail(new UsageError({ message: `environment variable ${name} is not set or empty (--from-env ${name})` }))
    )
  )

const fromStdin = Effect.gen(function*() {
  if (yield* stdinIsTerminal) {
    const answer = yield* Prompt.run(Prompt.Hidden({ message: "Connection string (input hidden)" }))
    return Redacted.make(Redacted.value(answer).trim())
  }
  const text = (yield* readStdin).trim()
  if (text === "") {
    return yield* new UsageError({
      message: "no connection string on stdin: pipe it in, or name an environment variable with --from-env VAR"
    })
  }
  if (text.includes("\n")) return yield* new UsageError({ message: "stdin holds more than one line: give exactly one connection string" })
  return Redacted.make(text)
})

/** The connection string, from --from-env VAR or else stdin. */
export const readConnectionString = (fromEnv: Option.Option<string>) =>
  Option.isSome(fromEnv) ? fromEnvironment(fromEnv.value) : fromStdin

export interface ConnectionTarget {
  readonly host: string | undefined
  readonly port: number | undefined
  readonly database: string | undefined
}

const keyValuePair = /(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)/g

/**
 * Host, port and database name of a connection string: a postgres:// URL or
 * libpq key=value pairs. Anything else is refused, so a typo is caught before
 * it is encrypted and stored.
 */
export const describeConnectionString = (secret: Redacted.Redacted<string>): ConnectionTarget | undefined => {
  const text = Redacted.value(secret)
  if (/^postgres(ql)?:\/\//i.test(text)) {
    if (!URL.canParse(text)) return undefined
    const url = new URL(text)
    const host = decodeURIComponent(url.hostname).replace(/^\[(.*)\]$/, "$1")
    return {
      host: host === "" ? undefined : host,
      port: url.port === "" ? undefined : Number(url.port),
      database: url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : undefined
    }
  }
  const pairs = new Map<string, string>()
  for (const [, key, raw] of text.matchAll(keyValuePair)) {
    pairs.set(key!.toLowerCase(), raw!.startsWith("'") ? raw!.slice(1, -1).replace(/\\(.)/g, "$1") : raw!)
  }
  if (pairs.size === 0 || text.replace(keyValuePair, "").trim() !== "") return undefined
  const port = pairs.get("port")
  return {
    host: pairs.get("host") ?? pairs.get("hostaddr"),
    port: port === undefined ? undefined : Number(port),
    database: pairs.get("dbname")
  }
}
