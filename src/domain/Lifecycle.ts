/**
 * The lifecycle of tenants and tenant databases, as the database enforces it
 * (routines.hcl: control_plane.lifecycle_moves() and its triggers), and the
 * errors a refused move becomes.
 *
 * The transition table itself lives only in the database; a refusal carries
 * the moves allowed from the current status, so callers (the CLI) can name
 * them without a copy of the table.
 */
import { Schema } from "effect"
import { LifecycleEntity, SystemTenantOperation } from "./errors.ts"

/** The name of the platform's own tenant, which always stays active. */
export const systemTenantName = "system_admin"

const orList = (items: ReadonlyArray<string>): string =>
  items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`

/**
 * A status move the transition table does not allow. `from` is null when a
 * new row was to start in `to`; `allowed` lists the statuses reachable from
 * `from` (the ones a new row may start in, when `from` is null).
 */
export class IllegalTransition extends Schema.TaggedError<IllegalTransition>()("IllegalTransition", {
  entity: LifecycleEntity,
  id: Schema.String,
  /** The tenant's name, or the database's name (not `name`: that is the Error's own). */
  entityName: Schema.optionalKey(Schema.String),
  from: Schema.NullOr(Schema.String),
  to: Schema.String,
  allowed: Schema.Array(Schema.String)
}) {
  override get message(): string {
    const what = this.entity === "tenant"
      ? `Tenant ${this.entityName === undefined ? this.id : JSON.stringify(this.entityName)}`
      : `Tenant database ${this.id}`
    if (this.from === null) {
      return `A new ${this.entity === "tenant" ? "tenant" : "tenant database"} cannot start as ${this.to}; ` +
        `it may start as ${orList(this.allowed)}`
    }
    const next = this.allowed.length === 0
      ? `${this.from} is final`
      : `from ${this.from} it can move to ${orList(this.allowed)}`
    return `${what} cannot move from ${this.from} to ${this.to}; ${next}`
  }
}

/** system_admin is the platform's own tenant: never renamed, never other than active, never deleted. */
export class SystemTenantProtected extends Schema.TaggedError<SystemTenantProtected>()("SystemTenantProtected", {
  operation: SystemTenantOperation,
  to: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    switch (this.operation) {
      case "rename":
        return `${systemTenantName} is the platform's own tenant and cannot be renamed`
      case "delete":
        return `${systemTenantName} is the platform's own tenant and cannot be deleted`
      case "status":
        return `${systemTenantName} is the platform's own tenant and always stays active` +
          (this.to === undefined ? "" : `: it cannot become ${this.to}`)
    }
  }
}
