/** `config list`: every entry, by key. */
import { Effect } from "effect"
import { Command } from "effect/cli"
import { SystemConfig } from "../../library.ts"
import { formatDate, jsonFlag, printJson, printTable } from "../../output.ts"
import { ConfigListView } from "../../views.ts"
import { preview } from "./shared.ts"

export const commandConfigList = Command.make("list", { json: jsonFlag }, ({ json }) =>
  Effect.gen(function*() {
    const entries = yield* (yield* SystemConfig).list()
    if (json) {
      return yield* printJson(ConfigListView, { entries })
    }
    yield* printTable(
      [
        { header: "KEY", value: (e) => e.key },
        { header: "VALUE", value: (e) => preview(e.value) },
        { header: "UPDATED", value: (e) => formatDate(e.updatedAt) }
      ],
      entries,
      "No configuration entries."
    )
  })
).pipe(
  Command.withDescription("List every configuration entry by key; long values are shortened in the table (--json gives them whole)."),
  Command.withShortDescription("List entries.")
)
