/** `servers list`: every database server with its status and how full it is. */
import { Effect } from "effect"
import { Command } from "effect/cli"
import { DatabaseServers } from "../../library.ts"
import { jsonFlag, printJson, printTable } from "../../output.ts"
import { ServerListView } from "../../views.ts"
import { serverColumns } from "./shared.ts"

export const commandServersList = Command.make("list", { json: jsonFlag }, ({ json }) =>
  Effect.gen(function*() {
    const servers = yield* (yield* DatabaseServers).list()
    if (json) return yield* printJson(ServerListView, { servers })
    yield* printTable(serverColumns, servers, "No database servers registered: add one with `control-plane servers add`.")
  })
).pipe(
  Command.withDescription(
    "List the database servers by name: where they are, whether they are open for new tenants, and how many tenant databases each holds of its maximum."
  ),
  Command.withShortDescription("List database servers.")
)
