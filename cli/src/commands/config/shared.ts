/** What the config commands share: the key argument and JSON values. */
import { Effect, Schema } from "effect"
import { Argument } from "effect/cli"
import { UsageError } from "../../failure.ts"

/** `<key>`: a configuration key. */
export const keyArgument = Argument.String("key").pipe(
  Argument.withDescription("The configuration key, e.g. billing.plan (1 to 255 characters).")
)

/** Values are any JSON; the CLI neither knows nor imposes a per-key shape. */
export const AnyJson: Schema.Codec<Schema.Json, unknown> = Schema.Json

/**
 * Parses a value given on the command line. The parser's own message quotes
 * the text, and values may be confidential, so the error only says what to do.
 */
export const parseJsonValue = (text: string): Effect.Effect<Schema.Json, UsageError> =>
  Effect.try({
    try: () => JSON.parse(text) as Schema.Json,
    catch: () =>
      new UsageError({
        message: `the value is not valid JSON (strings need their quotes, e.g. '"eu-west-1"'; numbers, true, false, null, arrays and objects as they are)`
      })
  })

/** Compact JSON cut to `width` characters for a table cell. */
export const preview = (value: unknown, width = 60): string => {
  const text = JSON.stringify(value)
  return [...text].length <= width ? text : `${[...text].slice(0, width - 1).join("")}…`
}
