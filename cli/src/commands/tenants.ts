/** `tenants`: create, inspect, change and delete tenants (the Tenants service), and provision them (Provisioning). */
import { Command } from "effect/cli"
import { Provisioning } from "../fleet/Provisioning.ts"
import { Tenants } from "../library.ts"
import { commandTenantsCreate } from "./tenants/create.ts"
import { commandTenantsDeactivate } from "./tenants/deactivate.ts"
import { commandTenantsDelete } from "./tenants/delete.ts"
import { commandTenantsDeprovision } from "./tenants/deprovision.ts"
import { commandTenantsList } from "./tenants/list.ts"
import { commandTenantsProvision } from "./tenants/provision.ts"
import { commandTenantsRename } from "./tenants/rename.ts"
import { commandTenantsResume } from "./tenants/resume.ts"
import { commandTenantsSetStatus } from "./tenants/setStatus.ts"
import { commandTenantsShow } from "./tenants/show.ts"
import { commandTenantsSuspend } from "./tenants/suspend.ts"

export const commandTenants = Command.make("tenants").pipe(
  Command.withDescription(
    "Create, list, inspect, rename, suspend, resume, deactivate and delete tenants, and provision a tenant with its own database on a registered server (and deprovision it). Status changes follow the lifecycle the database enforces."
  ),
  Command.withShortDescription("Manage tenants."),
  // Each command gets its services, not the group: `control-plane <group>` alone shows help without any configuration.
  Command.withSubcommands([
    commandTenantsList.pipe(Command.provide(Tenants.layer)),
    commandTenantsShow.pipe(Command.provide(Tenants.layer)),
    commandTenantsCreate.pipe(Command.provide(Tenants.layer)),
    commandTenantsRename.pipe(Command.provide(Tenants.layer)),
    commandTenantsSuspend.pipe(Command.provide(Tenants.layer)),
    commandTenantsResume.pipe(Command.provide(Tenants.layer)),
    commandTenantsDeactivate.pipe(Command.provide(Tenants.layer)),
    commandTenantsSetStatus.pipe(Command.provide(Tenants.layer)),
    commandTenantsDelete.pipe(Command.provide(Tenants.layer)),
    commandTenantsProvision.pipe(Command.provide(Provisioning.layer)),
    commandTenantsDeprovision.pipe(Command.provide(Provisioning.layer))
  ])
)
