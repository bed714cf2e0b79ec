/** `tenants set-status <tenant> <status>`: any status, as the lifecycle allows (suspend, resume and deactivate name the usual moves). */
import { Argument, Command } from "effect/cli"
import { tenantStatuses } from "../../library.ts"
import { jsonFlag } from "../../output.ts"
import { changeStatus, tenantArgument } from "./shared.ts"

export const commandTenantsSetStatus = Command.make(
  "set-status",
  {
    tenant: tenantArgument,
    status: Argument.Literals("status", tenantStatuses).pipe(Argument.withDescription("The new status.")),
    json: jsonFlag
  },
  ({ tenant, status, json }) => changeStatus(tenant, status, json)
).pipe(
  Command.withDescription(
    `Change a tenant's status (${tenantStatuses.join(", ")}), as the lifecycle allows; a refused move exits 1 naming the moves allowed.`
  ),
  Command.withShortDescription("Change a tenant's status.")
)
