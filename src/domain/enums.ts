/**
 * The three PostgreSQL enum types of the control plane, defined once.
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
