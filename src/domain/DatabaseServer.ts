/**
 * Database servers: the PostgreSQL servers tenant databases may be placed on.
 * The branded id, the rules for what a caller gives, the DatabaseServer record
 * and the errors about servers.
 *
 * A DatabaseServer never holds its admin connection string, not even
 * encrypted: the only way to it is `DatabaseServers.revealAdmin`, which hands
 * it out as Redacted.
 */
import { Schema } from "effect"
import { KeyId } from "../crypto/KeyRing.ts"
import { ServerStatus } from "./enums.ts"

/** A database server's id: a UUID, made by the application (the admin connection string is bound to it). */
export const DatabaseServerId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("DatabaseServerId"))
export type DatabaseServerId = typeof DatabaseServerId.Type

/**
 * A server's name: 1 to 63 letters, digits, `.`, `_` or `-`, starting with a
 * letter or digit (e.g. `pg-eu-1`). Short and plain, because operators type
 * it and it shows in tables and logs.
 */
export const ServerName = Schema.String.check(
  Schema.makeFilter((name: string) =>
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name) ||
    "must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit"
  )
)
export type ServerName = typeof ServerName.Type

/** The most tenant databases one server may hold: 1 to 1,000,000. */
export const MaxDatabases = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000_000 }))

/** A registered database server, with how many tenant databases are placed on it. */
export class DatabaseServer extends Schema.Class<DatabaseServer>("DatabaseServer")({
  id: DatabaseServerId,
  name: Schema.String,
  host: Schema.String,
  port: Schema.Int,
  maxDatabases: Schema.Int,
  status: ServerStatus,
  /** Tenant databases placed on the server (provisioned, or being provisioned). */
  databases: Schema.Int,
  /** The key the admin connection string is encrypted under; null when its envelope header is unreadable. */
  keyId: Schema.NullOr(KeyId),
  createdAt: Schema.Date,
  updatedAt: Schema.Date
}) {}

/** No database server has this id (or this name, for lookups by name). */
export class DatabaseServerNotFound extends Schema.TaggedError<DatabaseServerNotFound>()("DatabaseServerNotFound", {
  server: Schema.String
}) {
  override get message(): string {
    return `No database server is named or has the id ${JSON.stringify(this.server)}`
  }
}

/** Another database server already has this name. */
export class DatabaseServerNameTaken extends Schema.TaggedError<DatabaseServerNameTaken>()(
  "DatabaseServerNameTaken",
  { name: Schema.String }
) {
  override get message(): string {
    return `A database server named ${JSON.stringify(this.name)} already exists`
  }
}
