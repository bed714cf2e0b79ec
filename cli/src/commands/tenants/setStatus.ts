/** `tenants set-status <tenant> <status>`. */
import { Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { tenantStatuses } from "../../library.ts"
import { Tenants } from "../../library.ts"
import { jsonFlag } from "../../output.ts"
import { printTenant, resolveTenant, tenantArgument } from "./shared.ts"

export const commandTenantsSetStatus = Command.make(
  "set-status",
  {
    tenant: tenantArgument,
    status: Argument.Literals("status", tenantStatuses).pipe(Argument.withDescription("The new status.")),
    json: jsonFlag
  },
  ({ tenant, status, json }) =>
    Effect.gen(function*() {
      const found = yield* resolveTenant(tenant)
      const changed = yield* (yield* Tenants).setStatus(found.tenantId, status)
      yield* printTenant(changed, json)
    })
).pipe(
  Command.withDescription(`Change a tenant's status (${tenantStatuses.join(", ")}).`),
  Command.withShortDescription("Change a tenant's status.")
)
