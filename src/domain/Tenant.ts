/**
 * Tenants: the branded id, the name rules, the Tenant record and the errors
 * about tenants.
 */
import { Schema } from "effect"
import { TenantEnvironment, TenantStatus } from "./enums.ts"
import { BoundedText, VisibleText } from "./text.ts"

/** A tenant's id: a UUID (the database generates v4 ones), branded so it is not mixed up with other ids. */
export const TenantId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("TenantId"))
export type TenantId = typeof TenantId.Type

/** The most characters (Unicode code points, as PostgreSQL counts for varchar(255)) a name may have. */
export const tenantNameMaxLength = 255

/**
 * A tenant name, as create, rename and provision take it: 1 to 255 characters
 * (code points, as varchar(255) counts), no leading or trailing whitespace, no
 * control characters, no lone surrogates, no invisible or text-direction
 * characters (see BoundedText and VisibleText for why). Anything else is
 * allowed: letters of any script, digits, spaces inside, punctuation, emoji
 * (`system_admin`, `Acme Corp.`, `Müller GmbH`).
 */
export const TenantName = VisibleText(tenantNameMaxLength)
export type TenantName = typeof TenantName.Type

/**
 * A name to look a tenant up by: as TenantName, but invisible and
 * text-direction characters are allowed, so that a name stored before that
 * rule (or written from psql) can still be found.
 */
export const StoredTenantName = BoundedText(tenantNameMaxLength)

/**
 * A tenant as the control plane stores it: a plain readonly record (cheap to
 * build from a row, and prints as itself). `name` is any stored name, so a
 * row written before the current name rules still reads.
 */
export const Tenant = Schema.Struct({
  tenantId: TenantId,
  name: Schema.String,
  environment: TenantEnvironment,
  status: TenantStatus,
  createdAt: Schema.Date,
  updatedAt: Schema.Date
})
export type Tenant = typeof Tenant.Type

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

const tenantLabel = (tenantId: string, name: string | undefined): string =>
  name === undefined ? tenantId : JSON.stringify(name)

/** The tenant has no database in status active, so there is nowhere to route it (nor may it become active). */
export class NoActiveDatabase extends Schema.TaggedError<NoActiveDatabase>()("NoActiveDatabase", {
  tenantId: Schema.String,
  tenantName: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    return `Tenant ${tenantLabel(this.tenantId, this.tenantName)} has no active database`
  }
}

/** The tenant exists but is not active (pending, suspended or inactive), so it is not served. */
export class TenantNotActive extends Schema.TaggedError<TenantNotActive>()("TenantNotActive", {
  tenantId: Schema.String,
  tenantName: Schema.String,
  status: TenantStatus
}) {
  override get message(): string {
    return `Tenant ${tenantLabel(this.tenantId, this.tenantName)} is ${this.status}, not active`
  }
}
