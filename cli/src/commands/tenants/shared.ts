/**
 * What the tenants commands share: how a tenant is named on the command line
 * (its id or its name), how one is printed, how a status is changed, and the
 * layer they run on.
 */
import { Console, Effect, Schema } from "effect"
import { Argument } from "effect/cli"
import { type IllegalTransition, Tenant, Tenants, type TenantStatus } from "../../library.ts"
import { MoveRefused } from "../../failure.ts"
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

/** The command that moves a tenant to each status (pending is only ever a start). */
const commandFor: Partial<Record<string, string>> = {
  active: "resume",
  suspended: "suspend",
  inactive: "deactivate"
}

const moveRefused = (tenant: Tenant, refusal: IllegalTransition): MoveRefused => {
  const allowed = refusal.allowed.map((status) => {
    const command = commandFor[status]
    return command === undefined ? status : `${status} (${command})`
  })
  return new MoveRefused({
    message: `tenant ${JSON.stringify(tenant.name)} is ${refusal.from ?? tenant.status} and cannot become ${refusal.to}; ` +
      `allowed from ${refusal.from ?? tenant.status}: ${allowed.length === 0 ? "none, it is final" : allowed.join(", ")}`
  })
}

/**
 * Moves the tenant an operator named to `status` and prints it. The database
 * decides (the lifecycle in routines.hcl); a refused move names the moves
 * allowed from where the tenant is.
 */
export const changeStatus = (reference: string, status: TenantStatus, json: boolean) =>
  Effect.gen(function*() {
    const found = yield* resolveTenant(reference)
    const changed = yield* Tenants.use((tenants) => tenants.setStatus(found.tenantId, status)).pipe(
      Effect.catchTag("IllegalTransition", (refusal) => Effect.fail(moveRefused(found, refusal)))
    )
    yield* printTenant(changed, json)
  })
