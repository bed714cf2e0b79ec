/**
 * `tenants deprovision <tenant> --yes [--keep-database]`: the tenant's
 * database and role dropped (or kept), then its records removed.
 */
import { Console, Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { confirm, yesFlag } from "../../confirm.ts"
import { Provisioning } from "../../fleet/Provisioning.ts"
import { jsonFlag, printJson } from "../../output.ts"
import { DeprovisionedView } from "../../views.ts"
import { resolveTenant, tenantArgument } from "./shared.ts"

const keepDatabaseFlag = Flag.Boolean("keep-database").pipe(
  Flag.withDescription(
    "Leave the database and its role on the server and remove only the records: for a server that is gone for good."
  ),
  Flag.withDefault(false)
)

export const commandTenantsDeprovision = Command.make(
  "deprovision",
  { tenant: tenantArgument, yes: yesFlag, keepDatabase: keepDatabaseFlag, json: jsonFlag },
  ({ tenant, yes, keepDatabase, json }) =>
    Effect.gen(function*() {
      const found = yield* resolveTenant(tenant)
      const what = keepDatabase ? "remove its records, leaving its database and role on the server" : "drop its database and role, and remove its records"
      yield* confirm({
        yes,
        question: `Deprovision tenant ${JSON.stringify(found.name)} (${found.tenantId}): ${what}?`,
        action: `deprovision tenant ${JSON.stringify(found.name)}`
      })
      const removed = yield* (yield* Provisioning).deprovision(found.tenantId, { keepDatabase })
      if (json) return yield* printJson(DeprovisionedView, { deprovisioned: removed })
      const done = removed.dropped
        ? `dropped database and role ${removed.database} on server ${removed.server} and removed its records`
        : `removed its records; database and role ${removed.database} are still on server ${removed.server}`
      yield* Console.log(`Deprovisioned tenant ${JSON.stringify(removed.name)} (${removed.tenantId}): ${done}.`)
    })
).pipe(
  Command.withDescription(
    "Deprovision a tenant made by `tenants provision`, in reverse order: the tenant and its database become inactive, the database (its sessions closed) and the role are dropped, then the provisioning record, the database record and the tenant are removed. Safe to run again if it was interrupted. With --keep-database the database and role stay on the server and only the records go (for a server that cannot be reached any more). Asks for confirmation on a terminal; --yes skips the question and is required without a terminal."
  ),
  Command.withShortDescription("Drop a provisioned tenant's database and role, and remove it (asks first).")
)
