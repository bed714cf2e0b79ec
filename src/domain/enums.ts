/**
 * The PostgreSQL enum types of the control plane, defined once.
 *
 * Labels and order follow the spec and schema.hcl; a test compares both with
 * the live database (pg_enum ordered by enumsortorder), so a migration that
 * adds, renames or reorders a label breaks the build until this file follows.
 */
import { Schema } from "effect"

/** The labels of `control_plane.tenant_environment`, in database order. */
export const tenantEnvironments = ["development", "staging", "production"] as const

/** The deployment environment of a tenant. */
export const TenantEnvironment = Schema.Literals(tenantEnvironments)
export type TenantEnvironment = typeof TenantEnvironment.Type

/** The labels of `control_plane.tenant_status`, in database order. */
export const tenantStatuses = ["active", "inactive", "suspended", "pending"] as const

/** The lifecycle status of a tenant. */
export const TenantStatus = Schema.Literals(tenantStatuses)
export type TenantStatus = typeof TenantStatus.Type

/** The labels of `control_plane.database_status`, in database order. */
export const databaseStatuses = ["active", "inactive", "migrating", "error"] as const

/** The lifecycle status of a tenant database. */
export const DatabaseStatus = Schema.Literals(databaseStatuses)
export type DatabaseStatus = typeof DatabaseStatus.Type

/** The labels of `control_plane.server_status`, in database order. */
export const serverStatuses = ["open", "drained"] as const

/** Whether new tenant databases may be placed on a database server. */
export const ServerStatus = Schema.Literals(serverStatuses)
export type ServerStatus = typeof ServerStatus.Type

/** The labels of `control_plane.provisioning_step`, in database order: the order the steps run in. */
export const provisioningSteps = [
  "create_tenant",
  "place",
  "register",
  "create_role_and_database",
  "migrate",
  "seed",
  "activate"
] as const

/** A step of provisioning a tenant. */
export const ProvisioningStep = Schema.Literals(provisioningSteps)
export type ProvisioningStep = typeof ProvisioningStep.Type

/** The labels of `control_plane.fleet_run_status`, in database order. */
export const fleetRunStatuses = ["running", "succeeded", "failed", "stopped", "canary_failed"] as const

/** How a fleet migration run stands or ended. */
export const FleetRunStatus = Schema.Literals(fleetRunStatuses)
export type FleetRunStatus = typeof FleetRunStatus.Type

/** The labels of `control_plane.fleet_migration_status`, in database order. */
export const fleetMigrationStatuses = ["pending", "running", "succeeded", "failed", "skipped"] as const

/** How one database of a fleet migration run stands or ended. */
export const FleetMigrationStatus = Schema.Literals(fleetMigrationStatuses)
export type FleetMigrationStatus = typeof FleetMigrationStatus.Type
