/** `tenants rename <tenant> <new-name>`. */
import { Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { Tenants } from "../../library.ts"
import { jsonFlag } from "../../output.ts"
import { printTenant, resolveTenant, tenantArgument } from "./shared.ts"

export const commandTenantsRename = Command.make(
  "rename",
  {
    tenant: tenantArgument,
    name: Argument.String("new-name").pipe(Argument.withDescription("The tenant's new name (unique).")),
    json: jsonFlag
  },
  ({ tenant, name, json }) =>
    Effect.gen(function*() {
      const found = yield* resolveTenant(tenant)
      const renamed = yield* (yield* Tenants).rename(found.tenantId, name)
      yield* printTenant(renamed, json)
    })
).pipe(Command.withDescription("Give a tenant another name."), Command.withShortDescription("Rename a tenant."))
