/**
 * How the CLI ends: every failure becomes one `CliFailure`, whose `reason`
 * decides the exit code, and whose message is the one line printed on stderr.
 *
 *   0  success
 *   1  a domain or runtime failure: not found, name taken, decryption failed,
 *      the database unreachable or without its schema, a schema tool that failed
 *   2  a usage error: bad flags or arguments, input the services refuse
 *      (InvalidInput), bad JSON, missing or malformed configuration, a
 *      confirmation that cannot be asked
 *
 * `cliFailureOf` is the one place where the tagged errors of the library and
 * of the commands are mapped, one case each: an error type a command can newly
 * fail with does not compile until it has its case here.
 */
import { Cause, Schema } from "effect"
import type { PlatformError } from "effect/PlatformError"
import { CliError } from "effect/cli"
import type { SchemaCheckFailed } from "./commands/db/tools.ts"
import type { EngineError } from "./engine/Engine.ts"
import type { LockTimeout } from "./fileLock.ts"
import type {
  DatabaseProvisioned,
  DeprovisioningFailed,
  FleetRunIncomplete,
  FleetRunInProgress,
  PlacementRefused,
  ProvisioningFailed,
  ProvisioningInProgress,
  TenantBeingDeprovisioned,
  TenantNotProvisioned,
  TenantProvisioned
} from "./fleet/errors.ts"
import type { IdentifierTooLong, InvalidNamePrefix } from "./fleet/names.ts"
import type { TenantTemplateMissing } from "./fleet/TenantSchema.ts"
import type { InvalidMigrationName } from "./schema/diff.ts"
import type { UnknownBaseBranch } from "./schema/gate/changes.ts"
import type { ProbeNeedsSuperuser } from "./schema/gate/lockProbe.ts"
import type { GitError } from "./schema/Git.ts"
import type { RowTypesFailed } from "./schema/generateTypes.ts"
import type { PostgresError } from "./schema/postgres.ts"
import type { RoutinesInvalid } from "./schema/routines.ts"
import type { ScratchDatabaseError } from "./schema/ScratchDatabase.ts"
import type { SquawkError } from "./schema/Squawk.ts"
import type {
  AuditChainBroken,
  ConfigKeyNotFound,
  ConfigValueInvalid,
  DatabaseConfigError,
  ConnectionBudgetExhausted,
  DatabaseServerNameTaken,
  DatabaseServerNotFound,
  DbError,
  DecryptionFailed,
  IllegalTransition,
  InvalidInput,
  KeyRingError,
  MalformedEnvelope,
  NoActiveDatabase,
  SystemTenantProtected,
  TenantConnectionsConfigError,
  TenantDatabaseNotFound,
  TenantNameTaken,
  TenantNotFound,
  UnknownKeyId
} from "./library.ts"

/** The user asked for something the CLI cannot do as asked; exit 2. */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  message: Schema.String
}) {}

/** The operator answered no; nothing was changed (exit 1). */
export class NotConfirmed extends Schema.TaggedError<NotConfirmed>()("NotConfirmed", {
  message: Schema.String
}) {}

/**
 * A status change the lifecycle refused, said in the CLI's words (the tenant's
 * name, the moves allowed from where it is and the command for each); exit 1.
 */
export class MoveRefused extends Schema.TaggedError<MoveRefused>()("MoveRefused", {
  message: Schema.String
}) {}

/** stdin failed while it was being read (a reset socket, an I/O error); nothing was written. */
export class StdinUnreadable extends Schema.TaggedError<StdinUnreadable>()("StdinUnreadable", {
  code: Schema.String
}) {
  override get message(): string {
    return `stdin could not be read (${this.code}): nothing was written`
  }
}

/** How the command was called or configured is wrong: exit 2. */
export class Usage extends Schema.TaggedClass<Usage>()("Usage", { message: Schema.String }) {}
/** What the command names does not exist: exit 1. */
export class NotFound extends Schema.TaggedClass<NotFound>()("NotFound", { message: Schema.String }) {}
/** The request contradicts what is stored (a taken name, a forbidden change): exit 1. */
export class Conflict extends Schema.TaggedClass<Conflict>()("Conflict", { message: Schema.String }) {}
/** The database or a tool could not do its part (unreachable, no schema, cannot decrypt): exit 1. */
export class Failed extends Schema.TaggedClass<Failed>()("Failed", { message: Schema.String }) {}
/** Already shown to the user (a help page, a tool's own report): nothing more to print. */
export class AlreadyReported extends Schema.TaggedClass<AlreadyReported>()("AlreadyReported", {
  exitCode: Schema.Number
}) {}
/** Not one of ours (a defect): its message may quote anything, so only its kind is shown. */
export class Internal extends Schema.TaggedClass<Internal>()("Internal", { kind: Schema.String }) {}

export const CliFailureReason = Schema.Union([Usage, NotFound, Conflict, Failed, AlreadyReported, Internal])
export type CliFailureReason = typeof CliFailureReason.Type

/** Why a command failed: the exit code and the one line to print come from the reason. */
export class CliFailure extends Schema.TaggedError<CliFailure>()("CliFailure", { reason: CliFailureReason }) {
  get exitCode(): number {
    switch (this.reason._tag) {
      case "Usage":
        return 2
      case "AlreadyReported":
        return this.reason.exitCode
      default:
        return 1
    }
  }

  /** The line to print (before masking), or undefined when it has been shown already. */
  get line(): string | undefined {
    switch (this.reason._tag) {
      case "AlreadyReported":
        return undefined
      case "Internal":
        return `unexpected internal failure (${this.reason.kind})`
      default:
        return oneLine(this.reason.message)
    }
  }

  override get message(): string {
    return this.line ?? ""
  }
}

/** Every error a command of this CLI can fail with. */
export type CommandError =
  | CliError.CliError
  | PlatformError
  | UsageError
  | NotConfirmed
  | StdinUnreadable
  | LockTimeout
  | EngineError
  | ScratchDatabaseError
  | PostgresError
  | SquawkError
  | GitError
  | InvalidMigrationName
  | UnknownBaseBranch
  | ProbeNeedsSuperuser
  | RowTypesFailed
  | RoutinesInvalid
  | SchemaCheckFailed
  | InvalidInput
  | DatabaseConfigError
  | KeyRingError
  | DbError
  | TenantNotFound
  | TenantNameTaken
  | TenantDatabaseNotFound
  | ConfigKeyNotFound
  | ConfigValueInvalid
  | DecryptionFailed
  | UnknownKeyId
  | MalformedEnvelope
  | DatabaseServerNotFound
  | DatabaseServerNameTaken
  | PlacementRefused
  | IdentifierTooLong
  | InvalidNamePrefix
  | TenantTemplateMissing
  | TenantConnectionsConfigError
  | ConnectionBudgetExhausted
  | ProvisioningFailed
  | DeprovisioningFailed
  | ProvisioningInProgress
  | TenantNotProvisioned
  | TenantProvisioned
  | DatabaseProvisioned
  | TenantBeingDeprovisioned
  | FleetRunInProgress
  | FleetRunIncomplete
  | AuditChainBroken
  | MoveRefused
  | IllegalTransition
  | NoActiveDatabase
  | SystemTenantProtected

const failure = (reason: CliFailureReason) => new CliFailure({ reason })

/** A parse error as one line; the library puts its "Did you mean" suggestions on lines of their own. */
const cliErrorLine = (error: CliError.CliError): string => {
  const [first = ""] = error.message.split("\n")
  const suggestions = "suggestions" in error ? error.suggestions : []
  return suggestions.length > 0 ? `${first} (did you mean ${suggestions.join(" or ")}?)` : oneLine(error.message)
}

/** The usage hint for a parse error: the help of the command that was being parsed. */
const fromCliError = (error: CliError.CliError): CliFailure => {
  if (error._tag !== "ShowHelp") return failure(new Usage({ message: cliErrorLine(error) }))
  // A bare command group prints its help: not an error at all.
  if (error.errors.length === 0) return failure(new AlreadyReported({ exitCode: 0 }))
  return failure(
    new Usage({ message: `${error.errors.map(cliErrorLine).join("; ")} (see: ${error.commandPath.join(" ")} --help)` })
  )
}

const fromDbError = (error: DbError): CliFailure => {
  switch (error.reason._tag) {
    case "SchemaMissing":
      return failure(new Failed({ message: "the control_plane schema is missing: run control-plane db apply" }))
    default:
      return failure(new Failed({ message: error.message }))
  }
}

/** The one mapping from the tagged errors to a CliFailure: one case per error. */
export const cliFailureOf = (error: CommandError): CliFailure => {
  if (CliError.isCliError(error)) return fromCliError(error)
  switch (error._tag) {
    case "UsageError":
    case "InvalidInput":
    case "DatabaseConfigError":
    case "KeyRingError":
    case "IdentifierTooLong":
    case "InvalidNamePrefix":
    case "TenantTemplateMissing":
    case "TenantConnectionsConfigError":
    case "InvalidMigrationName":
    case "UnknownBaseBranch":
      return failure(new Usage({ message: error.message }))
    case "EngineError":
      // The engine's Usage is how it was called; every other reason is a failure it explains.
      return failure(error.reason === "Usage" ? new Usage({ message: error.message }) : new Failed({ message: error.message }))
    case "ScratchDatabaseError":
      return failure(error.reason === "InvalidUrl" ? new Usage({ message: error.message }) : new Failed({ message: error.message }))
    case "TenantNotFound":
    case "TenantDatabaseNotFound":
    case "ConfigKeyNotFound":
    case "DatabaseServerNotFound":
      return failure(new NotFound({ message: error.message }))
    case "TenantNameTaken":
    case "DatabaseServerNameTaken":
    case "PlacementRefused":
    case "ProvisioningInProgress":
    case "TenantNotProvisioned":
    case "TenantProvisioned":
    case "DatabaseProvisioned":
    case "TenantBeingDeprovisioned":
    case "FleetRunInProgress":
    case "MoveRefused":
    case "IllegalTransition":
    case "NoActiveDatabase":
    case "SystemTenantProtected":
      return failure(new Conflict({ message: error.message }))
    case "DbError":
      return fromDbError(error)
    case "NotConfirmed":
    case "StdinUnreadable":
    case "LockTimeout":
    case "PostgresError":
    case "SquawkError":
    case "GitError":
    case "ProbeNeedsSuperuser":
    case "RowTypesFailed":
    case "RoutinesInvalid":
    case "SchemaCheckFailed":
    case "ConfigValueInvalid":
    case "DecryptionFailed":
    case "UnknownKeyId":
    case "MalformedEnvelope":
    case "AuditChainBroken":
    case "ProvisioningFailed":
    case "DeprovisioningFailed":
    case "FleetRunIncomplete":
    case "ConnectionBudgetExhausted":
      return failure(new Failed({ message: error.message }))
    case "PlatformError":
      return failure(new Failed({ message: `${error.reason.module}.${error.reason.method} failed` }))
    default:
      return unreachable(error)
  }
}

const unreachable = (error: never): CliFailure =>
  failure(new Internal({ kind: (error as { readonly _tag?: string })._tag ?? typeof error }))

/**
 * A multi-line message (Schema's issue lists: `Expected ...` then `  at ["name"]`)
 * as one line: each `at` joins the issue above it, issues are separated by "; ".
 */
export const oneLine = (text: string): string => {
  const parts: Array<string> = []
  for (const line of text.split("\n").map((l) => l.trim()).filter((l) => l !== "")) {
    if (line.startsWith("at ") && parts.length > 0) parts[parts.length - 1] += ` ${line}`
    else parts.push(line)
  }
  return parts.join("; ")
}

/** The CliFailure of a cause that holds no typed failure: a defect. */
export const defectFailure = (cause: Cause.Cause<unknown>): CliFailure => {
  const defect = cause.reasons.find(Cause.isDieReason)?.defect
  return failure(new Internal({ kind: defect instanceof Error ? defect.name : typeof defect }))
}
