/**
 * Classifies whatever @databases/pg (node-postgres underneath) throws into a
 * DbError reason. Pure, so it is tested with fake error objects.
 *
 * Only the SQLSTATE code and the constraint name are kept: the driver's
 * messages quote the SQL (and, for connection failures, host and port), so
 * they never leave this module. The lifecycle triggers' refusals (LC001-LC003,
 * see routines.hcl) carry their facts as JSON in DETAIL, which is read here.
 */
import { Option, Schema } from "effect"
import {
  ActivationRefused,
  ConnectionError,
  DbError,
  ForeignKeyViolation,
  InvalidTextRepresentation,
  LifecycleEntity,
  LoginRefused,
  QueryTimeout,
  SchemaMissing,
  SystemTenantOperation,
  SystemTenantRefused,
  TransitionRefused,
  UniqueViolation,
  UnknownDatabase,
  Unknown
} from "../domain/errors.ts"
import type { DbErrorReason } from "../domain/errors.ts"

// Node's socket errors when the server cannot be reached or drops the line.
const socketErrorCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN"
])

// SQLSTATEs (outside class 08) that mean "this session is gone or was never
// allowed": shutdown, crash, not yet accepting, too many connections.
const connectionSqlStates = new Set(["57P01", "57P02", "57P03", "53300"])

// node-postgres reports a dropped or timed-out connection without a code.
const connectionMessages =
  /connection terminated|terminating connection|timeout expired|not queryable|connection error|client was closed/i

const stringField = (error: object, field: string): string | undefined => {
  const value = (error as Record<string, unknown>)[field]
  return typeof value === "string" ? value : undefined
}

// The DETAIL of each lifecycle refusal, as routines.hcl writes it.
const decodeTransition = Schema.decodeUnknownOption(Schema.fromJsonString(Schema.Struct({
  entity: LifecycleEntity,
  id: Schema.String,
  name: Schema.optionalKey(Schema.String),
  from: Schema.NullOr(Schema.String),
  to: Schema.String,
  allowed: Schema.Array(Schema.String)
})))
const decodeActivation = Schema.decodeUnknownOption(Schema.fromJsonString(Schema.Struct({
  id: Schema.String,
  name: Schema.optionalKey(Schema.String)
})))
const decodeSystemTenant = Schema.decodeUnknownOption(Schema.fromJsonString(Schema.Struct({
  operation: SystemTenantOperation,
  to: Schema.optionalKey(Schema.String)
})))

/** A lifecycle refusal, or undefined when `code` is not one or its DETAIL is unreadable. */
const lifecycleRefusal = (code: string, error: object): DbErrorReason | undefined => {
  const detail = stringField(error, "detail")
  if (detail === undefined) return undefined
  switch (code) {
    case "LC001":
      return Option.getOrUndefined(Option.map(decodeTransition(detail), (fields) => new TransitionRefused(fields)))
    case "LC002":
      return Option.getOrUndefined(Option.map(decodeActivation(detail), ({ id, ...rest }) =>
        new ActivationRefused({ tenantId: id, ...rest })))
    case "LC003":
      return Option.getOrUndefined(Option.map(decodeSystemTenant(detail), (fields) => new SystemTenantRefused(fields)))
  }
  return undefined
}

/** The DbError reason for a value thrown by the driver or the pool. */
export const classifyPgError = (error: unknown): DbErrorReason => {
  if (typeof error !== "object" || error === null) return new Unknown({})
  const code = stringField(error, "code")
  const constraint = stringField(error, "constraint") ?? "unknown"
  const refusal = code === undefined ? undefined : lifecycleRefusal(code, error)
  if (refusal !== undefined) return refusal
  switch (code) {
    case "23505":
      return new UniqueViolation({ constraint })
    case "23503":
      return new ForeignKeyViolation({ constraint })
    case "22P02": // invalid_text_representation: not a uuid, not an enum label
    case "22021": // character_not_in_repertoire: e.g. NUL in text
      return new InvalidTextRepresentation({})
    case "57014": // query_canceled: statement_timeout
    case "CONNECTION_POOL:QUEUE_TIMEOUT":
      return new QueryTimeout({})
    case "CONNECTION_POOL:OPEN_TIMEOUT":
      return new ConnectionError({})
    // Every statement of the library names control_plane's tables and types,
    // so an undefined table, schema or type means the schema is not there.
    case "42P01": // undefined_table
    case "3F000": // invalid_schema_name
    case "42704": // undefined_object (an enum type)
      return new SchemaMissing({})
  }
  if (code !== undefined) {
    if (socketErrorCodes.has(code) || connectionSqlStates.has(code)) return new ConnectionError({})
    if (code === "3D000") return new UnknownDatabase({}) // invalid_catalog_name
    // Class 28: invalid authorization (the login refused); class 08: connection exception.
    if (/^28[0-9A-Z]{3}$/.test(code)) return new LoginRefused({})
    if (/^08[0-9A-Z]{3}$/.test(code)) return new ConnectionError({})
    if (/^[0-9A-Z]{5}$/.test(code)) return new Unknown({ code })
    return new Unknown({})
  }
  const message = stringField(error, "message") ?? ""
  return connectionMessages.test(message) ? new ConnectionError({}) : new Unknown({})
}

/** The DbError for a value thrown by the driver or the pool. */
export const toDbError = (error: unknown): DbError => new DbError({ reason: classifyPgError(error) })
