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
    try: () => JSON.parse(text, exactIntegers) as Schema.Json,
    catch: (error) =>
      new UsageError({
        message: error instanceof InexactNumber
          ? "a number in the value is an integer beyond ±9007199254740991, which JSON numbers here cannot hold exactly: give it as a string"
          : error instanceof RangeError // the parser ran out of stack
          ? `the value nests arrays and objects more than ${MAX_DEPTH} deep`
          : `the value is not valid JSON (strings need their quotes, e.g. '"eu-west-1"'; numbers, true, false, null, arrays and objects as they are)`
      })
  }).pipe(Effect.flatMap((value) =>
    depthOf(value) > MAX_DEPTH
      ? Effect.fail(new UsageError({ message: `the value nests arrays and objects more than ${MAX_DEPTH} deep` }))
      : Effect.succeed(value)))

/** Arrays and objects nested deeper than this are refused (what reads them back recurses). */
const MAX_DEPTH = 100

class InexactNumber extends Error {}

/** A JSON.parse reviver that refuses an integer literal the parsed number does not equal (digits silently lost). */
const exactIntegers = (_key: string, value: unknown, context?: { readonly source?: string }): unknown => {
  if (typeof value === "number" && context?.source !== undefined && /^-?\d+$/.test(context.source) && !Number.isSafeInteger(value)) {
    throw new InexactNumber()
  }
  return value
}

/** How deeply arrays and objects nest in `value`, counted without recursion. */
const depthOf = (value: unknown): number => {
  let deepest = 0
  const pending: Array<[unknown, number]> = [[value, 0]]
  while (pending.length > 0) {
    const [next, depth] = pending.pop()!
    if (next === null || typeof next !== "object") continue
    deepest = Math.max(deepest, depth + 1)
    if (deepest > MAX_DEPTH) return deepest
    for (const child of Object.values(next)) pending.push([child, depth + 1])
  }
  return deepest
}

/** Compact JSON cut to `width` characters for a table cell. */
export const preview = (value: unknown, width = 60): string => {
  const text = JSON.stringify(value)
  return [...text].length <= width ? text : `${[...text].slice(0, width - 1).join("")}…`
}
