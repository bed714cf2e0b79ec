/** `config unset <key>`: removes the entry. */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { SystemConfig } from "../../library.ts"
import { jsonFlag, printJson } from "../../output.ts"
import { ConfigRemovedView } from "../../views.ts"
import { keyArgument } from "./shared.ts"

export const commandConfigUnset = Command.make("unset", { key: keyArgument, json: jsonFlag }, ({ key, json }) =>
  Effect.gen(function*() {
    yield* (yield* SystemConfig).delete(key)
    yield* json ? printJson(ConfigRemovedView, { removed: key }) : Console.log(`Removed ${key}.`)
  })
).pipe(
  Command.withDescription("Remove a configuration key and its value (exit 1 when there is no such key)."),
  Command.withShortDescription("Remove a key.")
)
