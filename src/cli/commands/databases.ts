/** `databases`: the databases of tenants, connection strings encrypted at rest (the TenantDatabases service). */
import { Command } from "effect/cli"
import { Layer } from "effect"
import { Tenants } from "../../services/Tenants.ts"
import { TenantDatabases } from "../../services/TenantDatabases.ts"
import { commandDatabasesList } from "./databases/list.ts"
import { commandDatabasesRegister } from "./databases/register.ts"
import { commandDatabasesRemove } from "./databases/remove.ts"
import { commandDatabasesReveal } from "./databases/reveal.ts"
import { commandDatabasesSetStatus } from "./databases/setStatus.ts"
import { commandDatabasesShow } from "./databases/show.ts"

export const commandDatabases = Command.make("databases").pipe(
  Command.withDescription(
    "Register, list, inspect and remove the databases of tenants. Connection strings are stored encrypted (CONTROL_PLANE_ENCRYPTION_KEYS) and shown only by `reveal`."
  ),
  Command.withShortDescription("Manage tenant databases."),
  Command.withSubcommands([
    commandDatabasesList,
    commandDatabasesRegister,
    commandDatabasesShow,
    commandDatabasesReveal,
    commandDatabasesSetStatus,
    commandDatabasesRemove
  ]),
  Command.provide(Layer.merge(Tenants.layer, TenantDatabases.layer))
)
