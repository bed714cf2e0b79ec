/** `databases`: the databases of tenants, connection strings encrypted at rest (the TenantDatabases service). */
import { Layer } from "effect"
import { Command } from "effect/cli"
import { Tenants } from "../library.ts"
import { TenantDatabases } from "../library.ts"
import { commandDatabasesList } from "./databases/list.ts"
import { commandDatabasesRegister } from "./databases/register.ts"
import { commandDatabasesRemove } from "./databases/remove.ts"
import { commandDatabasesReveal } from "./databases/reveal.ts"
import { commandDatabasesSetStatus } from "./databases/setStatus.ts"
import { commandDatabasesShow } from "./databases/show.ts"

/**
 * Provided to each command rather than to the group, so that the bare group
 * (`control-plane databases`, which shows help) needs no configuration.
 * Tenants resolves --tenant by name; both share one Db pool (same layer).
 */
const services = Layer.merge(Tenants.layer, TenantDatabases.layer)

export const commandDatabases = Command.make("databases").pipe(
  Command.withDescription(
    "Register, list, inspect and remove the databases of tenants. Connection strings are stored encrypted (CONTROL_PLANE_ENCRYPTION_KEYS) and shown only by `reveal`."
  ),
  Command.withShortDescription("Manage tenant databases."),
  Command.withSubcommands([
    commandDatabasesList.pipe(Command.provide(services)),
    commandDatabasesRegister.pipe(Command.provide(services)),
    commandDatabasesShow.pipe(Command.provide(services)),
    commandDatabasesReveal.pipe(Command.provide(services)),
    commandDatabasesSetStatus.pipe(Command.provide(services)),
    commandDatabasesRemove.pipe(Command.provide(services))
  ])
)
