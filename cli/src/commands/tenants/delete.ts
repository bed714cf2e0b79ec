/** `tenants delete <tenant>`: asks first (or --yes); its tenant_databases rows go with it. */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { Tenants } from "../../library.ts"
import { confirm, yesFlag } from "../../confirm.ts"
import { jsonFlag, printJson } from "../../output.ts"
import { TenantProvisioned } from "../../fleet/errors.ts"
import { DeletedTenantView } from "../../views.ts"
import { resolveTenant, tenantArgument } from "./shared.ts"

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
        // Its provisioning record still points at it (tenants deprovision removes both).
        Effect.catchIf(
          (error) => error._tag === "DbError" && error.reason._tag === "ForeignKeyViolation" &&
            error.reason.constraint === "tenant_provisioning_tenant_id_fkey",
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
