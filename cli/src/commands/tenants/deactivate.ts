/** `tenants deactivate <tenant>`: moves the tenant to inactive, as the lifecycle allows. */
import { Command } from "effect/cli"
import { jsonFlag } from "../../output.ts"
import { changeStatus, tenantArgument } from "./shared.ts"

export const commandTenantsDeactivate = Command.make(
  "deactivate",
  { tenant: tenantArgument, json: jsonFlag },
  ({ tenant, json }) => changeStatus(tenant, "inactive", json)
).pipe(
  Command.withDescription(
    "Deactivate a tenant for good: inactive is final (delete it when its data may go). Works from pending, active or suspended. A move the lifecycle does not allow exits 1 naming the moves allowed from the tenant's status."
  ),
  Command.withShortDescription("Deactivate a tenant (final).")
)
