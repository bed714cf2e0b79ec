/** `servers`: the PostgreSQL servers tenant databases are placed on (the DatabaseServers service). */
import { Command } from "effect/cli"
import { DatabaseServers } from "../library.ts"
import { commandServersAdd } from "./servers/add.ts"
import { commandServersDrain } from "./servers/drain.ts"
import { commandServersList } from "./servers/list.ts"

export const commandServers = Command.make("servers").pipe(
  Command.withDescription(
    "Register, list and drain the PostgreSQL servers that `tenants provision` places tenant databases on. Admin connection strings are stored encrypted (CONTROL_PLANE_ENCRYPTION_KEYS)."
  ),
  Command.withShortDescription("Manage database servers."),
  // Each command gets its services, not the group: `control-plane servers` alone shows help without any configuration.
  Command.withSubcommands([
    commandServersAdd.pipe(Command.provide(DatabaseServers.layer)),
    commandServersList.pipe(Command.provide(DatabaseServers.layer)),
    commandServersDrain.pipe(Command.provide(DatabaseServers.layer))
  ])
)
