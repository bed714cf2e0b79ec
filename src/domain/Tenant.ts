/**
 * Tenants: the branded id, the name rules, the Tenant record and the errors
 * about tenants.
 */
import { Schema } from "effect"
import { TenantEnvironment, TenantStatus } from "./enums.ts"

/** A tenant's id: a UUID (the database generates v4 ones), branded so it is not mixed up with other ids. */
export const TenantId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("TenantId"))
export type TenantId = typeof TenantId.Type

/** The most characters (Unicode code points, as PostgreSQL counts for varchar(255)) a name may have. */
export const tenantNameMaxLength = 255

// Cc: C0/C1 controls (NUL, newline, escape, ...); Cs: lone UTF-16 surrogates.
const forbiddenCharacter = /[\p{Cc}\p{Cs}]/u

/**
 * A tenant name: 1 to 255 characters, no leading or trailing whitespace, no
 * control characters and no lone surrogates. Anything else is allowed
 * (letters of any script, digits, spaces inside, punctuation: `system_admin`,
 * `Acme Corp.`, `Müller GmbH`).
 *
 * Why: the column is varchar(255), which counts code points, so the length is
 * counted the same way; surrounding whitespace would make "acme" and "acme "
 * two different tenants that look alike; control characters cannot be shown
 * safely in a terminal or a log (and PostgreSQL refuses NUL outright); lone
 * surrogates cannot be encoded as UTF-8, so the stored name would differ from
 * the one given.
 */
export const TenantName = Schema.String.check(
  Schema.makeFilter((name: string) => name.length > 0 || "must not be empty"),
  Schema.makeFilter(
    (name: string) => [...name].length <= tenantNameMaxLength || `must be at most ${tenantNameMaxLength} characters`
  ),
  Schema.makeFilter((name: string) => name.trim() === name || "must not start or end with whitespace"),
  Schema.makeFilter((name: string) =>
    !forbiddenCharacter.test(name) || "must not contain control characters or lone surrogates"
  )
)
export type TenantName = typeof TenantName.Type

/** A tenant as the control plane stores it. */
export class Tenant extends Schema.Class<Tenant>("Tenant")({
  tenantId: TenantId,
  name: Schema.String,
  environment: TenantEnvironment,
  status: TenantStatus,
  createdAt: Schema.Date,
  updatedAt: Schema.Date
}) {}

/** No tenant has this id (or this name, for lookups by name). */
export class TenantNotFound extends Schema.TaggedError<TenantNotFound>()("TenantNotFound", {
  tenantId: Schema.optionalKey(Schema.String),
  name: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    return this.tenantId !== undefined
      ? `No tenant has the id ${this.tenantId}`
      : `No tenant is named ${JSON.stringify(this.name ?? "")}`
  }
}

/** Another tenant already has this name. */
export class TenantNameTaken extends Schema.TaggedError<TenantNameTaken>()("TenantNameTaken", {
  name: Schema.String
}) {
  override get message(): string {
    return `A tenant named ${JSON.stringify(this.name)} already exists`
  }
}
