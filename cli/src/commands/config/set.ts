/** `config set <key> <json>`: stores a JSON value (`-` reads it from stdin). */
import { Console, Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { ConfigEntry, SystemConfig } from "../../library.ts"
import { UsageError } from "../../failure.ts"
import { formatDate, jsonFlag, printJson } from "../../output.ts"
import { readStdin } from "../../terminal.ts"
import { AnyJson, keyArgument, parseJsonValue, preview } from "./shared.ts"

export const commandConfigSet = Command.make(
  "set",
  {
    key: keyArgument,
    value: Argument.String("value").pipe(
      Argument.withDescription(`The value as JSON: '"text"', 42, true, null, '["a","b"]', '{"max":10}'; - reads it from stdin.`)
    ),
    json: jsonFlag
  },
  ({ key, value, json }) =>
    Effect.gen(function*() {
      const text = value === "-" ? yield* readStdin : value
      if (text.trim() === "") return yield* new UsageError({ message: "the value is empty: give JSON, e.g. null or '\"\"'" })
      const parsed = yield* parseJsonValue(text)
      const entry = yield* (yield* SystemConfig).set(key, AnyJson, parsed)
      if (json) return yield* printJson(ConfigEntry, entry)
      yield* Console.log(`Set ${entry.key} = ${preview(entry.value)} (${formatDate(entry.updatedAt)})`)
    })
).pipe(
  Command.withDescription("Store a JSON value under a key, replacing any value it had. A value that is not JSON is refused and nothing is written."),
  Command.withShortDescription("Store a value.")
)
