/**
 * What the tenants commands share: how a tenant is named on the command line
 * (its id or its name), how one is printed, and the layer they run on.
 */
import { Console, Effect, Schema } from "effect"
import { Argument } from "effect/cli"
import { Tenant, Tenants } from "../../library.ts"
import { type Column, formatDate, printJson, renderRecord } from "../../output.ts"

/** `<tenant>`: a tenant id (UUID) or a tenant name. */
export const tenantArgument = Argument.String("tenant").pipe(
  Argument.withDescription("The tenant: its id (a UUID) or its name.")
)

const isUuid = Schema.is(Schema.String.check(Schema.isUUID()))

/**
 * Finds the tenant an operator named: by id when the text is a UUID, else by
 * name. A name may itself look like a UUID (the name rules allow it), so a
 * UUID that no tenant has as its id is tried as a name before giving up with
 * the id's TenantNotFound. A text that is neither a UUID nor a valid name is
 * InvalidInput (exit 2).
 */
export const resolveTenant = (reference: string) =>
  Tenants.use((tenants) =>
    isUuid(reference)
      ? tenants.get(reference).pipe(
        Effect.catchTag("TenantNotFound", (byId) =>
          tenants.findByName(reference).pipe(Effect.catchTag("TenantNotFound", () => Effect.fail(byId))))
      )
      : tenants.findByName(reference)
  )

export const tenantColumns: ReadonlyArray<Column<Tenant>> = [
  { header: "ID", value: (t) => t.tenantId },
  { header: "NAME", value: (t) => t.name },
  { header: "ENVIRONMENT", value: (t) => t.environment },
  { header: "STATUS", value: (t) => t.status },
  { header: "CREATED", value: (t) => formatDate(t.createdAt) }
]

/** One tenant, as `field: value` lines or JSON. */
export const printTenant = (tenant: Tenant, json: boolean): Effect.Effect<void> =>
  json
    ? printJson(Tenant, tenant)
    : Console.log(
      renderRecord([
        ["id", tenant.tenantId],
        ["name", tenant.name],
        ["environment", tenant.environment],
        ["status", tenant.status],
        ["created", formatDate(tenant.createdAt)],
        ["updated", formatDate(tenant.updatedAt)]
      ])
    )
