/** `tenants show <tenant>`: one tenant. */
import { Effect } from "effect"
import { Command } from "effect/cli"
import { jsonFlag } from "../../output.ts"
import { printTenant, resolveTenant, tenantArgument } from "./shared.ts"

export const commandTenantsShow = Command.make("show", { tenant: tenantArgument, json: jsonFlag }, ({ tenant, json }) =>
  Effect.flatMap(resolveTenant(tenant), (found) => printTenant(found, json))
).pipe(
  Command.withDescription("Show one tenant, given its id or its name."),
  Command.withShortDescription("Show a tenant.")
)
