/** `config get <key>`: the value, as JSON. */
import { Effect } from "effect"
import { Command } from "effect/cli"
import { SystemConfig } from "../../library.ts"
import { jsonFlag, printJson } from "../../output.ts"
import { ConfigValueView } from "../../views.ts"
import { AnyJson, keyArgument } from "./shared.ts"

export const commandConfigGet = Command.make("get", { key: keyArgument, json: jsonFlag }, ({ key, json }) =>
  Effect.gen(function*() {
    const value = yield* (yield* SystemConfig).get(key, AnyJson)
    yield* json ? printJson(ConfigValueView, { key, value }) : printJson(AnyJson, value)
  })
).pipe(
  Command.withDescription("Print the value of a configuration key, as JSON (--json: an object with the key and the value)."),
  Command.withShortDescription("Print a value.")
)
