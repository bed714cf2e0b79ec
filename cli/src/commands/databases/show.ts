/** `databases show <id>`: one record, never its connection string. */
import { Effect } from "effect"
import { Command } from "effect/cli"
import { TenantDatabases } from "../../library.ts"
import { jsonFlag } from "../../output.ts"
import { databaseIdArgument, printDatabase } from "./shared.ts"

export const commandDatabasesShow = Command.make("show", { id: databaseIdArgument, json: jsonFlag }, ({ id, json }) =>
  Effect.flatMap(TenantDatabases.use((databases) => databases.get(id)), (database) => printDatabase(database, json))
).pipe(
  Command.withDescription("Show a tenant database record: tenant, database name, host, port, status and the id of the key its connection string is encrypted under. Never the connection string."),
  Command.withShortDescription("Show a database record.")
)
