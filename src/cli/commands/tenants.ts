/** `tenants`: create, inspect, change and delete tenants (the Tenants service). */
import { Command } from "effect/cli"
import { Tenants } from "../../services/Tenants.ts"
import { commandTenantsCreate } from "./tenants/create.ts"
import { commandTenantsDelete } from "./tenants/delete.ts"
import { commandTenantsList } from "./tenants/list.ts"
import { commandTenantsRename } from "./tenants/rename.ts"
import { commandTenantsSetStatus } from "./tenants/setStatus.ts"
import { commandTenantsShow } from "./tenants/show.ts"

export const commandTenants = Command.make("tenants").pipe(
  Command.withDescription("Create, list, inspect, rename, change the status of and delete tenants."),
  Command.withShortDescription("Manage tenants."),
  Command.withSubcommands([
    commandTenantsList,
    commandTenantsShow,
    commandTenantsCreate,
    commandTenantsRename,
    commandTenantsSetStatus,
    commandTenantsDelete
  ]),
  Command.provide(Tenants.layer)
)
