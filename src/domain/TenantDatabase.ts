/**
 * Tenant databases: the branded record id, the rules for the fields a caller
 * gives, the TenantDatabase record and the error for a missing one.
 *
 * A TenantDatabase never holds the connection string, not even encrypted: the
 * only way to it is `TenantDatabases.reveal`, which hands it out as Redacted.
 */
import { Redacted, Schema } from "effect"
import { KeyId } from "../crypto/KeyRing.ts"
import { DatabaseStatus } from "./enums.ts"
import { TenantId } from "./Tenant.ts"
import { BoundedText } from "./text.ts"

/** A tenant database record's id: a UUID, made by the application (the ciphertext is bound to it). */
export const TenantDatabaseId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("TenantDatabaseId"))
export type TenantDatabaseId = typeof TenantDatabaseId.Type

/** The name of the database on its server: 1 to 255 characters (varchar(255)), see BoundedText. */
export const DatabaseName = BoundedText(255)

/** The server's host name or address: as DatabaseName, and no whitespace anywhere. */
export const DatabaseHost = BoundedText(255).check(
  Schema.makeFilter((host: string) => !/\s/u.test(host) || "must not contain whitespace")
)

/** A TCP port, 1 to 65535. */
export const DatabasePort = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 }))

/** The port `register` stores when none is given (the column's default too). */
export const defaultDatabasePort = 5432

/**
 * A connection string as callers must hand it over: wrapped in Redacted (so a
 * plain string, which could end up in a log, is refused) and not blank. URLs
 * and key=value strings are both fine; the services also refuse what the
 * driver would refuse when the string is used (Db.ts, checkDriverAccepts).
 */
export const ConnectionString = Schema.Redacted(Schema.String).check(
  Schema.makeFilter((value: Redacted.Redacted<string>) =>
    Redacted.value(value).trim() !== "" || "must not be blank"
  )
)

/** A registered tenant database, without its connection string. */
export class TenantDatabase extends Schema.Class<TenantDatabase>("TenantDatabase")({
  id: TenantDatabaseId,
  tenantId: TenantId,
  databaseName: Schema.String,
  host: Schema.String,
  port: Schema.Int,
  status: DatabaseStatus,
  /**
   * The key the connection string is encrypted under, read from its envelope;
   * null when the stored envelope's header is unreadable (reveal then fails
   * with MalformedEnvelope).
   */
  keyId: Schema.NullOr(KeyId),
  createdAt: Schema.Date,
  updatedAt: Schema.Date
}) {}

/** No tenant database has this id. */
export class TenantDatabaseNotFound extends Schema.TaggedError<TenantDatabaseNotFound>()("TenantDatabaseNotFound", {
  id: Schema.String
}) {
  override get message(): string {
    return `No tenant database has the id ${this.id}`
  }
}
