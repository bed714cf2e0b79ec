/** `databases remove <id>`: forgets the record (asks first, or --yes); the database itself is untouched. */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { TenantDatabases } from "../../library.ts"
import { confirm, yesFlag } from "../../confirm.ts"
import { jsonFlag, printJson } from "../../output.ts"
import { RemovedDatabaseView } from "../../views.ts"
import { databaseIdArgument } from "./shared.ts"

export const commandDatabasesRemove = Command.make(
  "remove",
  { id: databaseIdArgument, yes: yesFlag, json: jsonFlag },
  ({ id, yes, json }) =>
    Effect.gen(function*() {
      const databases = yield* TenantDatabases
      const found = yield* databases.get(id)
      const what = `database ${JSON.stringify(found.databaseName)} on ${found.host}:${found.port} (${found.id})`
      yield* confirm({ yes, question: `Remove the record of ${what}?`, action: `remove the record of ${what}` })
      const removed = yield* databases.remove(found.id)
      yield* json
        ? printJson(RemovedDatabaseView, { removed })
        : Console.log(`Removed the record of database ${JSON.stringify(removed.databaseName)} on ${removed.host}:${removed.port} (${removed.id}).`)
    })
).pipe(
  Command.withDescription(
    "Remove a tenant database record and its encrypted connection string. The database itself is not touched. Asks for confirmation on a terminal; --yes skips the question and is required without a terminal."
  ),
  Command.withShortDescription("Remove a database record (asks first).")
)
