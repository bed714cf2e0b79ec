/** `tenants resume <tenant>`: moves the tenant to active, as the lifecycle allows. */
import { Command } from "effect/cli"
import { jsonFlag } from "../../output.ts"
import { changeStatus, tenantArgument } from "./shared.ts"

export const commandTenantsResume = Command.make(
  "resume",
  { tenant: tenantArgument, json: jsonFlag },
  ({ tenant, json }) => changeStatus(tenant, "active", json)
).pipe(
  Command.withDescription(
    "Make a tenant active: a suspended tenant again, or a pending one for the first time. The tenant needs an active database. A move the lifecycle does not allow exits 1 naming the moves allowed from the tenant's status."
  ),
  Command.withShortDescription("Make a tenant active.")
)
