/**
 * The errors every control-plane service shares: `InvalidInput` for input that
 * failed its Schema at the edge (nothing was written), and `DbError` for a
 * database failure, classified into a `reason` once (see src/db/pgErrors.ts).
 *
 * Neither ever carries SQL text, query parameters or a connection string: the
 * driver's own messages embed the SQL, so they are dropped, and only the
 * SQLSTATE code and constraint name survive.
 */
import { Effect, Schema } from "effect"

/** Input that failed validation; `message` says what is wrong and where. */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  message: Schema.String
}) {}

/**
 * Decodes `input` with `schema` at a service's edge. The failure names what
 * was being decoded (`what`, e.g. "tenant name") and lists every issue.
 * `strict` refuses keys the schema does not know instead of dropping them
 * (for inputs where a dropped key would silently change what is written).
 */
export const decodeInput = <S extends Schema.Decoder<unknown>>(schema: S, what: string, options?: { readonly strict?: boolean }) => {
  const decode = Schema.decodeUnknownEffect(schema)
  const parseOptions = { errors: "all", onExcessProperty: options?.strict === true ? "error" : "ignore" } as const
  return (input: unknown): Effect.Effect<S["Type"], InvalidInput, S["DecodingServices"]> =>
    decode(input, parseOptions).pipe(
      Effect.mapError((error) => new InvalidInput({ message: `Invalid ${what}: ${error.message}` }))
    )
}

/**
 * decodeInput for a schema that only checks (a refinement, brand or literal
 * set, no transformation), where a valid input decodes to itself: a valid
 * input costs one synchronous check; only an invalid one pays for the
 * detailed message. For the hot lookups (a tenant id or name per request).
 */
export const checkInput = <S extends Schema.Codec<unknown, unknown, never, never>>(schema: S, what: string) => {
  const isValid = Schema.is(schema)
  const decode = decodeInput(schema, what)
  return (input: unknown): Effect.Effect<S["Type"], InvalidInput> =>
    isValid(input) ? Effect.succeed(input) : decode(input)
}

/** A unique constraint or unique index refused a duplicate (SQLSTATE 23505). */
export class UniqueViolation extends Schema.TaggedClass<UniqueViolation>()("UniqueViolation", {
  constraint: Schema.String
}) {}

/** A foreign key refused a row or a delete (SQLSTATE 23503). */
export class ForeignKeyViolation extends Schema.TaggedClass<ForeignKeyViolation>()("ForeignKeyViolation", {
  constraint: Schema.String
}) {}

/** PostgreSQL could not read a value as its type, e.g. a bad uuid or enum label, or text with NUL (SQLSTATE 22P02, 22021). */
export class InvalidTextRepresentation extends Schema.TaggedClass<InvalidTextRepresentation>()(
  "InvalidTextRepresentation",
  {}
) {}

/** The server could not be reached, or the connection was lost. */
export class ConnectionError extends Schema.TaggedClass<ConnectionError>()("ConnectionError", {}) {}

/** The server refused the login: an unknown role, a wrong password, no pg_hba.conf entry (SQLSTATE class 28). */
export class LoginRefused extends Schema.TaggedClass<LoginRefused>()("LoginRefused", {}) {}

/** The database the connection string names does not exist on the server (SQLSTATE 3D000). */
export class UnknownDatabase extends Schema.TaggedClass<UnknownDatabase>()("UnknownDatabase", {}) {}

/**
 * The PostgreSQL driver refused a stored connection string when a pool was
 * made from it (an unknown sslmode, a malformed %-escape): a record written
 * around the services' checks. `detail` is the driver's reason, kept only when
 * it quotes no part of the string.
 */
export class ConnectionStringRefused extends Schema.TaggedClass<ConnectionStringRefused>()("ConnectionStringRefused", {
  detail: Schema.String
}) {}

/** A statement, or the wait for a pooled connection, took longer than allowed. */
export class QueryTimeout extends Schema.TaggedClass<QueryTimeout>()("QueryTimeout", {}) {}

/**
 * The control_plane schema (or one of its tables or types) does not exist in
 * the database: it was never applied, or another database was named (SQLSTATE
 * 42P01, 3F000, 42704).
 */
export class SchemaMissing extends Schema.TaggedClass<SchemaMissing>()("SchemaMissing", {}) {}

/** The status moves a lifecycle trigger names (tenant or database statuses; null for a new row). */
export const LifecycleEntity = Schema.Literals(["tenant", "database"])
export type LifecycleEntity = typeof LifecycleEntity.Type

/**
 * The lifecycle trigger refused a status move the transition table does not
 * allow (SQLSTATE LC001); `allowed` lists the moves from `from`.
 */
export class TransitionRefused extends Schema.TaggedClass<TransitionRefused>()("TransitionRefused", {
  entity: LifecycleEntity,
  id: Schema.String,
  name: Schema.optionalKey(Schema.String),
  from: Schema.NullOr(Schema.String),
  to: Schema.String,
  allowed: Schema.Array(Schema.String)
}) {}

/** The lifecycle trigger refused to make a tenant active: it has no active database (SQLSTATE LC002). */
export class ActivationRefused extends Schema.TaggedClass<ActivationRefused>()("ActivationRefused", {
  tenantId: Schema.String,
  name: Schema.optionalKey(Schema.String)
}) {}

/** What was attempted on system_admin. */
export const SystemTenantOperation = Schema.Literals(["rename", "status", "delete"])
export type SystemTenantOperation = typeof SystemTenantOperation.Type

/** The lifecycle trigger protected system_admin from a rename, status change or delete (SQLSTATE LC003). */
export class SystemTenantRefused extends Schema.TaggedClass<SystemTenantRefused>()("SystemTenantRefused", {
  operation: SystemTenantOperation,
  to: Schema.optionalKey(Schema.String)
}) {}

/** Anything else; `code` is the SQLSTATE when the server sent one. */
export class Unknown extends Schema.TaggedClass<Unknown>()("Unknown", {
  code: Schema.optionalKey(Schema.String)
}) {}

export const DbErrorReason = Schema.Union([
  UniqueViolation,
  ForeignKeyViolation,
  InvalidTextRepresentation,
  ConnectionError,
  LoginRefused,
  UnknownDatabase,
  ConnectionStringRefused,
  QueryTimeout,
  SchemaMissing,
  TransitionRefused,
  ActivationRefused,
  SystemTenantRefused,
  Unknown
])
export type DbErrorReason = typeof DbErrorReason.Type

const describeReason = (reason: DbErrorReason): string => {
  switch (reason._tag) {
    case "UniqueViolation":
      return `unique constraint ${reason.constraint} refused a duplicate`
    case "ForeignKeyViolation":
      return `foreign key ${reason.constraint} refused the change`
    case "InvalidTextRepresentation":
      return "a value could not be read as its column type"
    case "ConnectionError":
      return "the database could not be reached or the connection was lost"
    case "LoginRefused":
      return "the server refused the login (check the role and password of the connection string)"
    case "UnknownDatabase":
      return "the database the connection string names does not exist on the server"
    case "ConnectionStringRefused":
      return `the PostgreSQL driver refused the stored connection string (${reason.detail})`
    case "QueryTimeout":
      return "the query or the wait for a connection timed out"
    case "SchemaMissing":
      return "the control_plane schema is missing from the database"
    case "TransitionRefused":
      return `the ${reason.entity} lifecycle refused the move from ${reason.from ?? "new"} to ${reason.to}`
    case "ActivationRefused":
      return `tenant ${reason.tenantId} cannot become active without an active database`
    case "SystemTenantRefused":
      return "system_admin is protected"
    case "Unknown":
      return reason.code === undefined ? "unexpected failure" : `unexpected failure (SQLSTATE ${reason.code})`
  }
}

/**
 * A database failure. Handle one reason with
 * `Effect.catchReason("DbError", "UniqueViolation", ...)`.
 */
export class DbError extends Schema.TaggedError<DbError>()("DbError", {
  reason: DbErrorReason
}) {
  override get message(): string {
    return `Database error: ${describeReason(this.reason)}`
  }

  /** Whether trying again later may succeed (connection trouble, timeouts). */
  get isRetryable(): boolean {
    return this.reason._tag === "ConnectionError" || this.reason._tag === "QueryTimeout"
  }
}
