/** `tenants suspend <tenant>`: moves the tenant to suspended, as the lifecycle allows. */
import { Command } from "effect/cli"
import { jsonFlag } from "../../output.ts"
import { changeStatus, tenantArgument } from "./shared.ts"

export const commandTenantsSuspend = Command.make(
  "suspend",
  { tenant: tenantArgument, json: jsonFlag },
  ({ tenant, json }) => changeStatus(tenant, "suspended", json)
).pipe(
  Command.withDescription(
    "Suspend an active tenant: it is no longer served (TenantConnections refuses it) until resumed. Its data stays. A move the lifecycle does not allow exits 1 naming the moves allowed from the tenant's status."
  ),
  Command.withShortDescription("Suspend a tenant.")
)
