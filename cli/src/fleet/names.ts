/**
 * The names of a tenant's role and database on its server, derived from the
 * tenant id, never from the tenant's name or any other raw input: a prefix of
 * lower-case letters, digits and `_` (default `tenant_`) followed by the 32
 * hex digits of the id, e.g. `tenant_3f2b…e1`. The role and the database share
 * the name (they live in different namespaces of the server).
 *
 * PostgreSQL truncates identifiers longer than 63 bytes (NAMEDATALEN - 1)
 * silently, which could make two tenants' names collide: a longer result is
 * refused with IdentifierTooLong before anything is written. Statements quote
 * every identifier anyway (sql.ident), so no name is ever read as SQL.
 */
import { Result, Schema } from "effect"

/** PostgreSQL's longest identifier, in bytes. */
export const maxIdentifierBytes = 63

export const defaultNamePrefix = "tenant_"

/** A prefix: starts with a letter, then letters, digits or `_`, all lower case (so it never needs case folding). */
const prefixPattern = /^[a-z][a-z0-9_]*$/

/** The name prefix is not lower-case letters, digits and `_` starting with a letter. */
export class InvalidNamePrefix extends Schema.TaggedError<InvalidNamePrefix>()("InvalidNamePrefix", {
  prefix: Schema.String
}) {
  override get message(): string {
    return `The name prefix ${JSON.stringify(this.prefix)} is not usable: it must start with a lower-case letter and hold only lower-case letters, digits and '_'`
  }
}

/** The derived role and database name would be longer than PostgreSQL's 63-byte identifiers. */
export class IdentifierTooLong extends Schema.TaggedError<IdentifierTooLong>()("IdentifierTooLong", {
  prefix: Schema.String,
  bytes: Schema.Number
}) {
  override get message(): string {
    return `The name prefix ${JSON.stringify(this.prefix)} makes role and database names of ${this.bytes} bytes, ` +
      `more than PostgreSQL's ${maxIdentifierBytes}: use a prefix of at most ${maxIdentifierBytes - 32} characters`
  }
}

export interface TenantNames {
  readonly role: string
  readonly database: string
}

/** The role and database names for `tenantId` (a UUID) under `prefix`. */
export const deriveNames = (
  tenantId: string,
  prefix: string = defaultNamePrefix
): Result.Result<TenantNames, InvalidNamePrefix | IdentifierTooLong> => {
  if (!prefixPattern.test(prefix)) return Result.fail(new InvalidNamePrefix({ prefix }))
  const name = `${prefix}${tenantId.toLowerCase().replaceAll("-", "")}`
  const bytes = Buffer.byteLength(name, "utf8")
  if (bytes > maxIdentifierBytes) return Result.fail(new IdentifierTooLong({ prefix, bytes }))
  return Result.succeed({ role: name, database: name })
}
