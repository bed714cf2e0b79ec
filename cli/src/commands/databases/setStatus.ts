/** `databases set-status <id> <status>`. */
import { Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { databaseStatuses } from "../../library.ts"
import { TenantDatabases } from "../../library.ts"
import { jsonFlag } from "../../output.ts"
import { databaseIdArgument, printDatabase } from "./shared.ts"

export const commandDatabasesSetStatus = Command.make(
  "set-status",
  {
    id: databaseIdArgument,
    status: Argument.Literals("status", databaseStatuses).pipe(Argument.withDescription("The new status.")),
    json: jsonFlag
  },
  ({ id, status, json }) =>
    Effect.flatMap(TenantDatabases.use((databases) => databases.setStatus(id, status)), (database) =>
      printDatabase(database, json))
).pipe(
  Command.withDescription(`Change a tenant database's status (${databaseStatuses.join(", ")}).`),
  Command.withShortDescription("Change a database's status.")
)
