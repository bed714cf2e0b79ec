/** `servers drain <server>`: no new tenant databases are placed on the server; those on it stay. */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { DatabaseServer, DatabaseServers } from "../../library.ts"
import { jsonFlag, printJson } from "../../output.ts"
import { resolveServer, serverArgument } from "./shared.ts"

export const commandServersDrain = Command.make("drain", { server: serverArgument, json: jsonFlag }, ({ server, json }) =>
  Effect.gen(function*() {
    const found = yield* resolveServer(server)
    const drained = yield* (yield* DatabaseServers).setStatus(found.id, "drained")
    if (json) return yield* printJson(DatabaseServer, drained)
    yield* Console.log(
      `Drained server ${drained.name}: no new tenant databases are placed on it; the ${drained.databases} on it stay.`
    )
  })
).pipe(
  Command.withDescription(
    "Drain a database server: provisioning no longer places new tenant databases on it. The databases already on it are not touched. Draining a drained server changes nothing."
  ),
  Command.withShortDescription("Stop placing new tenant databases on a server.")
)
