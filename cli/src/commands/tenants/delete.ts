/** `tenants delete <tenant>`: asks first (or --yes); its tenant_databases rows go with it. */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { Tenants } from "../../library.ts"
import { confirm, yesFlag } from "../../confirm.ts"
import { jsonFlag, printJson } from "../../output.ts"
import { TenantProvisioned } from "../../fleet/errors.ts"
import { DeletedTenantView } from "../../views.ts"
import { resolveTenant, tenantArgument } from "./shared.ts"

/** The provisioning record's foreign keys (tenants deprovision removes the record with the tenant). */
const provisioningKeys = new Set(["tenant_provisioning_tenant_id_fkey", "tenant_provisioning_database_id_fkey"])

export const commandTenantsDelete = Command.make(
  "delete",
  { tenant: tenantArgument, yes: yesFlag, json: jsonFlag },
  ({ tenant, yes, json }) =>
    Effect.gen(function*() {
      const found = yield* resolveTenant(tenant)
      yield* confirm({
        yes,
        question: `Delete tenant ${JSON.stringify(found.name)} (${found.tenantId}) and every database registered for it?`,
        action: `delete tenant ${JSON.stringify(found.name)}`
      })
      const deleted = yield* (yield* Tenants).delete(found.tenantId).pipe(
        // Its provisioning record still points at it, or at its database record, which the delete
        // cascades to (which of the two refuses first depends on the order the keys were made).
        Effect.catchIf(
          (error) => error._tag === "DbError" && error.reason._tag === "ForeignKeyViolation" &&
            provisioningKeys.has(error.reason.constraint),
          () => Effect.fail(new TenantProvisioned({ tenant: found.name }))
        )
      )
      if (json) return yield* printJson(DeletedTenantView, { deleted })
      yield* Console.log(`Deleted tenant ${JSON.stringify(deleted.name)} (${deleted.tenantId}) and its registered databases.`)
    })
).pipe(
  Command.withDescription(
    "Delete a tenant and, with it, every database record registered for it (the databases themselves are not touched). Asks for confirmation on a terminal; --yes skips the question and is required without a terminal."
  ),
  Command.withShortDescription("Delete a tenant (asks first).")
)
