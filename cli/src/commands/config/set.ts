/** `config set <key> <json>`: stores a JSON value (`-` reads it from stdin). */
import { Console, Effect, Schema } from "effect"
import { Argument, Command } from "effect/cli"
import { SystemConfig } from "../../library.ts"
import { UsageError } from "../../errors.ts"
import { formatDate, jsonFlag, printJson } from "../../output.ts"
import { AnyJson, keyArgument, parseJsonValue, preview } from "./shared.ts"

/** stdin failed while the value was being read (a reset socket, an I/O error); nothing was written. */
export class StdinUnreadable extends Schema.TaggedError<StdinUnreadable>()("StdinUnreadable", {
  code: Schema.String
}) {
  override get message(): string {
    return `stdin could not be read (${this.code}): nothing was written`
  }
}

const readStdin = Effect.callback<string, StdinUnreadable>((resume) => {
  const chunks: Array<Buffer> = []
  process.stdin.on("data", (chunk: Buffer) => chunks.push(chunk))
  process.stdin.on("end", () => resume(Effect.succeed(Buffer.concat(chunks).toString("utf8"))))
  // Without a listener, a stream error is thrown as an uncaught exception: a crash with a stack trace.
  process.stdin.on("error", (error: NodeJS.ErrnoException) =>
    resume(Effect.fail(new StdinUnreadable({ code: error.code ?? error.name })))
  )
  process.stdin.resume()
})

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
      if (json) return yield* printJson({ key: entry.key, value: entry.value, updatedAt: entry.updatedAt.toISOString() })
      yield* Console.log(`Set ${entry.key} = ${preview(entry.value)} (${formatDate(entry.updatedAt)})`)
    })
).pipe(
  Command.withDescription("Store a JSON value under a key, replacing any value it had. A value that is not JSON is refused and nothing is written."),
  Command.withShortDescription("Store a value.")
)
