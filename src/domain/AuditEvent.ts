/**
 * The audit trail: the AuditEvent record, the inputs of listing and purging
 * events, and the error that reports a broken hash chain.
 *
 * Events are written by the database (the triggers of routines.hcl) in the
 * same transaction as the change they record, or by the services for what is
 * not a row change (a reveal, a key rotation, a purge); see AuditTrail.
 */
import { Schema } from "effect"
import { TenantId } from "./Tenant.ts"
import { BoundedText } from "./text.ts"

/**
 * What happened. The triggers write create, update, delete and truncate; the
 * services write reveal (a connection string was decrypted), rotate (a run of
 * key rotation) and purge (old events were removed behind a checkpoint).
 */
export const auditActions = ["create", "update", "delete", "truncate", "reveal", "rotate", "purge"] as const
export const AuditAction = Schema.Literals(auditActions)
export type AuditAction = typeof AuditAction.Type

/** What it happened to. */
export const auditEntityTypes = [
  "tenant",
  "tenant_database",
  "system_config",
  "database_server",
  "fleet_run",
  "key_ring",
  "audit_trail"
] as const
export const AuditEntityType = Schema.Literals(auditEntityTypes)
export type AuditEntityType = typeof AuditEntityType.Type

/**
 * One recorded event. `changes` maps each changed field to `{ old, new }`
 * (`old` missing on create, `new` on delete); a connection string appears only
 * as `{ changed: true }`, with the id of the key it is encrypted under as
 * `key_id` (a server's admin connection string likewise, as
 * `admin_connection_string`). For reveal, rotate and purge it holds what the
 * operation did.
 * `action` and `entityType` are strings, so that events written by a later
 * version still read.
 */
export const AuditEvent = Schema.Struct({
  /** The position in the hash chain: 1, 2, 3, ... */
  id: Schema.Number,
  occurredAt: Schema.Date,
  /** Who acted: the Actor of the library call, or the database role for a change made in psql. */
  actor: Schema.String,
  /** The database role of the session that made the change. */
  dbRole: Schema.String,
  action: Schema.String,
  entityType: Schema.String,
  entityId: Schema.NullOr(Schema.String),
  tenantId: Schema.NullOr(Schema.String),
  changes: Schema.Record(Schema.String, Schema.Json),
  reason: Schema.NullOr(Schema.String),
  /** Hex of the previous event's hash. */
  prevHash: Schema.String,
  /** Hex of sha256(previous hash || canonical content). */
  hash: Schema.String
})
export type AuditEvent = typeof AuditEvent.Type

/** One page of `AuditTrail.list`; pass `nextCursor` as `after` for the next (null on the last page). */
export const AuditEventPage = Schema.Struct({
  events: Schema.Array(AuditEvent),
  nextCursor: Schema.NullOr(Schema.String)
})
export type AuditEventPage = typeof AuditEventPage.Type

/** What a verified chain holds. */
export const ChainReport = Schema.Struct({
  /** Events checked (0 for an empty trail). */
  events: Schema.Number,
  /** The first event kept (1 unless a purge removed older ones), null when empty. */
  firstId: Schema.NullOr(Schema.Number),
  lastId: Schema.NullOr(Schema.Number),
  /** Hex of the newest event's hash: record it elsewhere to detect a rewrite of the whole chain later. */
  headHash: Schema.NullOr(Schema.String)
})
export type ChainReport = typeof ChainReport.Type

/** What a purge did. */
export const PurgeReport = Schema.Struct({
  /** The purge event (the checkpoint). */
  checkpoint: AuditEvent,
  /** Events deleted. */
  purged: Schema.Number,
  /** The first event kept. */
  firstKeptId: Schema.Number
})
export type PurgeReport = typeof PurgeReport.Type

/** The most events one page of `list` gives, and the default. */
export const maxAuditPageSize = 1000
export const defaultAuditPageSize = 100

/** Dates PostgreSQL's timestamptz and a JS Date both hold without surprise. */
const ReasonableDate = Schema.Date.check(
  Schema.makeFilter((date: Date) => {
    const year = date.getUTCFullYear()
    return (year >= 1 && year <= 9999) || "must be between the years 1 and 9999"
  })
)

/** Input of `AuditTrail.list`: optional filters, page size, and the cursor of the previous page. */
export const ListAuditEventsInput = Schema.Struct({
  /** Only events about this tenant (it, its databases), including after it was deleted. */
  tenantId: Schema.optionalKey(TenantId),
  /** Only events at or after this time. */
  since: Schema.optionalKey(ReasonableDate),
  entityType: Schema.optionalKey(AuditEntityType),
  action: Schema.optionalKey(AuditAction),
  limit: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: maxAuditPageSize }))),
  /** The `nextCursor` of the previous page. */
  after: Schema.optionalKey(Schema.String)
})
export type ListAuditEventsInput = typeof ListAuditEventsInput.Encoded

/** Why a purge happened, like an actor's reason: 1 to 1000 characters, no control characters. */
export const AuditReason = BoundedText(1000)

/** The longest retention a purge accepts, in days (100 years). */
export const maxRetentionDays = 36_500

/** Input of `AuditTrail.purge`: remove the events older than `olderThanDays` days (0: all before now). */
export const PurgeAuditEventsInput = Schema.Struct({
  olderThanDays: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: maxRetentionDays })),
  reason: Schema.optionalKey(AuditReason)
})
export type PurgeAuditEventsInput = typeof PurgeAuditEventsInput.Encoded

/**
 * How the chain broke at `eventId`:
 * - "altered": the event's content no longer matches its hash;
 * - "unlinked": its previous hash is not the hash of the event before it
 *   (that event, `eventId - 1`, was altered and re-hashed, or replaced), or,
 *   for the first event, not the anchor the latest purge recorded;
 * - "missing": events are missing before it (deleted around the guard), or
 *   the chain does not start where the latest purge said it would.
 */
export const ChainProblem = Schema.Literals(["altered", "unlinked", "missing"])
export type ChainProblem = typeof ChainProblem.Type

/** `AuditTrail.verify` found the first event where the hash chain does not hold. */
export class AuditChainBroken extends Schema.TaggedError<AuditChainBroken>()("AuditChainBroken", {
  eventId: Schema.Number,
  problem: ChainProblem,
  /** The event that should come right before `eventId` (null when `eventId` is the first one kept). */
  previousId: Schema.NullOr(Schema.Number),
  /** The id the chain should continue with (previous + 1, or the latest purge's first kept id). */
  expectedId: Schema.Number
}) {
  override get message(): string {
    const event = `Audit event #${this.eventId}`
    switch (this.problem) {
      case "altered":
        return `${event} was altered: its content no longer matches its hash`
      case "unlinked":
        return this.previousId === null
          ? `${event} does not link to the checkpoint of the latest purge: it was altered or replaced`
          : `${event} does not link to event #${this.previousId}: #${this.previousId} was altered or replaced after #${this.eventId} was written`
      case "missing":
        return this.previousId === null
          ? `${event} is the first event, but the chain should start at #${this.expectedId}: events were deleted without a purge`
          : this.expectedId === this.eventId - 1
          ? `${event} follows #${this.previousId}: event #${this.expectedId} is missing`
          : `${event} follows #${this.previousId}: events #${this.expectedId} to #${this.eventId - 1} are missing`
    }
  }
}
