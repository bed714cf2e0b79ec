/**
 * The failures of provisioning and fleet migrations, each one sentence that
 * names tenants and servers by name and id, never a connection string.
 */
import { Schema } from "effect"
import { ProvisioningStep } from "../library.ts"

/** The named server is drained: provisioning places nothing new on it. */
export class ServerDrained extends Schema.TaggedClass<ServerDrained>()("ServerDrained", { server: Schema.String }) {}

/** The named server already holds its maximum of tenant databases. */
export class ServerFull extends Schema.TaggedClass<ServerFull>()("ServerFull", {
  server: Schema.String,
  maxDatabases: Schema.Number
}) {}

/** No server is open with room to spare. */
export class NoServerAvailable extends Schema.TaggedClass<NoServerAvailable>()("NoServerAvailable", {}) {}

export const PlacementRefusedReason = Schema.Union([ServerDrained, ServerFull, NoServerAvailable])
export type PlacementRefusedReason = typeof PlacementRefusedReason.Type

const describePlacement = (reason: PlacementRefusedReason): string => {
  switch (reason._tag) {
    case "ServerDrained":
      return `database server ${JSON.stringify(reason.server)} is drained and takes no new tenant databases`
    case "ServerFull":
      return `database server ${JSON.stringify(reason.server)} is full: it holds its maximum of ${reason.maxDatabases} tenant databases`
    case "NoServerAvailable":
      return "no open database server has room for another tenant database (add one with `servers add`)"
  }
}

/** The tenant's database could not be placed; nothing was written. */
export class PlacementRefused extends Schema.TaggedError<PlacementRefused>()("PlacementRefused", {
  tenant: Schema.String,
  reason: PlacementRefusedReason
}) {
  override get message(): string {
    return `Cannot place tenant ${JSON.stringify(this.tenant)}: ${describePlacement(this.reason)}`
  }
}

/**
 * A provisioning step failed. The tenant's provisioning record names the step
 * and `reason` (and its database, once registered, is `error`); running the
 * same command again resumes at that step.
 */
export class ProvisioningFailed extends Schema.TaggedError<ProvisioningFailed>()("ProvisioningFailed", {
  tenant: Schema.String,
  tenantId: Schema.String,
  step: ProvisioningStep,
  reason: Schema.String
}) {
  override get message(): string {
    return `Provisioning tenant ${JSON.stringify(this.tenant)} failed at step ${this.step}: ${this.reason}; ` +
      "run the same command again to resume"
  }
}

/** Deprovisioning stopped part-way; running the same command again continues it. */
export class DeprovisioningFailed extends Schema.TaggedError<DeprovisioningFailed>()("DeprovisioningFailed", {
  tenant: Schema.String,
  tenantId: Schema.String,
  reason: Schema.String,
  /** The server, when dropping the database and role there failed (it may be gone for good). */
  server: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    const again = `Deprovisioning tenant ${JSON.stringify(this.tenant)} stopped: ${this.reason}; run the same command again to finish`
    return this.server === undefined
      ? again
      : `${again}, or add --keep-database to remove only the records if server ${this.server} is gone for good`
  }
}

/** Another process is provisioning or deprovisioning this tenant right now. */
export class ProvisioningInProgress extends Schema.TaggedError<ProvisioningInProgress>()("ProvisioningInProgress", {
  tenant: Schema.String
}) {
  override get message(): string {
    return `Tenant ${JSON.stringify(this.tenant)} is being provisioned or deprovisioned by another process right now`
  }
}

/** The tenant exists but provisioning did not create it (no provisioning record): it is not provisioning's to finish or remove. */
export class TenantNotProvisioned extends Schema.TaggedError<TenantNotProvisioned>()("TenantNotProvisioned", {
  tenant: Schema.String
}) {
  override get message(): string {
    return `Tenant ${JSON.stringify(this.tenant)} exists but was not created by \`tenants provision\` (it has no provisioning record)`
  }
}

/** The tenant was made by `tenants provision`: `tenants delete` would leave its database and role behind. */
export class TenantProvisioned extends Schema.TaggedError<TenantProvisioned>()("TenantProvisioned", {
  tenant: Schema.String
}) {
  override get message(): string {
    return `Tenant ${JSON.stringify(this.tenant)} was provisioned: remove it with \`tenants deprovision\`, which also drops its database and role`
  }
}

/** The database record is a provisioned tenant's: `databases remove` would leave its database and role behind, unrecorded. */
export class DatabaseProvisioned extends Schema.TaggedError<DatabaseProvisioned>()("DatabaseProvisioned", {
  database: Schema.String,
  tenant: Schema.String
}) {
  override get message(): string {
    return `Database ${this.database} is the database of provisioned tenant ${JSON.stringify(this.tenant)} and goes only with it: ` +
      "`tenants deprovision` removes the tenant and drops the database and its role"
  }
}

/** The tenant is half-way through deprovisioning; it cannot be provisioned again. */
export class TenantBeingDeprovisioned extends Schema.TaggedError<TenantBeingDeprovisioned>()("TenantBeingDeprovisioned", {
  tenant: Schema.String
}) {
  override get message(): string {
    return `Tenant ${JSON.stringify(this.tenant)} is being deprovisioned: run \`tenants deprovision\` again to finish`
  }
}

/** Another `fleet migrate` holds the fleet. */
export class FleetRunInProgress extends Schema.TaggedError<FleetRunInProgress>()("FleetRunInProgress", {}) {
  override get message(): string {
    return "Another `fleet migrate` is running against this control plane; wait for it, or for its process to end"
  }
}

/** A fleet run ended with databases failed or skipped; the ledger holds every database's outcome. */
export class FleetRunIncomplete extends Schema.TaggedError<FleetRunIncomplete>()("FleetRunIncomplete", {
  runId: Schema.String,
  status: Schema.String,
  total: Schema.Number,
  failed: Schema.Number,
  skipped: Schema.Number,
  firstFailure: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    const first = this.firstFailure === undefined ? "" : ` (first: ${this.firstFailure})`
    return `Fleet run ${this.runId} ${this.status.replace("_", " ")}: ${this.failed} of ${this.total} databases failed ` +
      `and ${this.skipped} were not migrated${first}; fix the cause and run \`fleet migrate\` again`
  }
}

/** Cuts a message to its first line: reasons are stored and shown as one line. */
export const oneLineReason = (message: string): string => {
  const line = message.split("\n").map((part) => part.trim()).find((part) => part !== "") ?? "unknown failure"
  return line.length > 500 ? `${line.slice(0, 497)}...` : line
}
