/** `tenants deprovision <tenant> --yes`: the tenant's database and role dropped, then its records removed. */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { confirm, yesFlag } from "../../confirm.ts"
import { Provisioning } from "../../fleet/Provisioning.ts"
import { jsonFlag, printJson } from "../../output.ts"
import { DeprovisionedView } from "../../views.ts"
import { resolveTenant, tenantArgument } from "./shared.ts"

export const commandTenantsDeprovision = Command.make(
  "deprovision",
  { tenant: tenantArgument, yes: yesFlag, json: jsonFlag },
  ({ tenant, yes, json }) =>
    Effect.gen(function*() {
      const found = yield* resolveTenant(tenant)
      yield* confirm({
        yes,
        question: `Deprovision tenant ${JSON.stringify(found.name)} (${found.tenantId}): drop its database and role, and remove its records?`,
        action: `deprovision tenant ${JSON.stringify(found.name)}`
      })
      const removed = yield* (yield* Provisioning).deprovision(found.tenantId)
      if (json) return yield* printJson(DeprovisionedView, { deprovisioned: removed })
      yield* Console.log(
        `Deprovisioned tenant ${JSON.stringify(removed.name)} (${removed.tenantId}): dropped database and role ${removed.database} on server ${removed.server} and removed its records.`
      )
    })
).pipe(
  Command.withDescription(
    "Deprovision a tenant made by `tenants provision`, in reverse order: the tenant and its database become inactive, the database (its sessions closed) and the role are dropped, then the database record, the provisioning record and the tenant are removed. Safe to run again if it was interrupted. Asks for confirmation on a terminal; --yes skips the question and is required without a terminal."
  ),
  Command.withShortDescription("Drop a provisioned tenant's database and role, and remove it (asks first).")
)
