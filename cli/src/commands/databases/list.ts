/** `databases list --tenant <tenant>`: the tenant's databases, without their connection strings. */
import { Effect } from "effect"
import { Command } from "effect/cli"
import { TenantDatabases } from "../../library.ts"
import { jsonFlag, printJson, printTable } from "../../output.ts"
import { resolveTenant } from "../tenants/shared.ts"
import { TenantDatabaseListView } from "../../views.ts"
import { databaseColumns, tenantFlag } from "./shared.ts"

export const commandDatabasesList = Command.make("list", { tenant: tenantFlag, json: jsonFlag }, ({ tenant, json }) =>
  Effect.gen(function*() {
    const found = yield* resolveTenant(tenant)
    const databases = yield* (yield* TenantDatabases).listForTenant(found.tenantId)
    if (json) return yield* printJson(TenantDatabaseListView, { tenantId: found.tenantId, databases })
    yield* printTable(databaseColumns, databases, `No databases registered for tenant ${JSON.stringify(found.name)}.`)
  })
).pipe(
  Command.withDescription("List the databases registered for a tenant, oldest first. Connection strings are never shown (see `databases reveal`)."),
  Command.withShortDescription("List a tenant's databases.")
)
