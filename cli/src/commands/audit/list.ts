/** `audit list`: one page of events, oldest first, filtered by tenant, time, entity or action. */
import { Console, Effect, Option, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { auditActions, auditEntityTypes, type AuditEvent } from "../../library.ts"
import { AuditTrail } from "../../library.ts"
import { Tenants } from "../../library.ts"
import { UsageError } from "../../failure.ts"
import { type Column, formatDate, jsonFlag, printJson, printTable } from "../../output.ts"
import { AuditEventPageView } from "../../views.ts"

const isUuid = Schema.is(Schema.String.check(Schema.isUUID()))

/**
 * The tenant id for --tenant: a UUID is taken as it is (events outlive their
 * tenant, so a deleted tenant's id still lists its history); a name must be a
 * tenant's current name.
 */
const tenantIdOf = (reference: string) =>
  isUuid(reference)
    ? Effect.succeed(reference)
    : Effect.map(Tenants.use((tenants) => tenants.findByName(reference)), (tenant) => tenant.tenantId as string)

const units = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** Whether the day exists (Date would take 2026-02-30 as 2026-03-02). */
const isCalendarDate = (year: number, month: number, day: number): boolean => {
  const date = new Date(Date.UTC(year, month - 1, day))
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
}

/** --since: an ISO 8601 date or time (2026-11-01, 2026-11-01T09:00:00Z), or an age such as 30m, 24h, 7d. */
export const parseSince = (text: string, now: Date): Effect.Effect<Date, UsageError> => {
  const age = /^(\d{1,6})([mhd])$/.exec(text.trim())
  if (age !== null) return Effect.succeed(new Date(now.getTime() - Number(age[1]) * units[age[2] as keyof typeof units]))
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/.exec(text.trim())
  const date = iso !== null && isCalendarDate(Number(iso[1]), Number(iso[2]), Number(iso[3])) ? new Date(text.trim()) : new Date(Number.NaN)
  return Number.isNaN(date.getTime())
    ? Effect.fail(new UsageError({ message: `--since ${JSON.stringify(text)} is neither an ISO date or time (2026-11-01, 2026-11-01T09:00:00Z) nor an age (30m, 24h, 7d)` }))
    : Effect.succeed(date)
}

const describeValue = (value: unknown): string => (typeof value === "string" ? value : JSON.stringify(value))

/** `status pending→active; connection_string changed`: the changes on one line. */
export const describeChanges = (changes: AuditEvent["changes"]): string =>
  Object.entries(changes)
    .map(([field, change]) => {
      if (typeof change !== "object" || change === null || Array.isArray(change)) return `${field} ${describeValue(change)}`
      const entry = change as Record<string, unknown>
      if (entry["changed"] === true) return `${field} changed`
      if ("old" in entry && "new" in entry) return `${field} ${describeValue(entry["old"])}→${describeValue(entry["new"])}`
      if ("new" in entry) return `${field} ${describeValue(entry["new"])}`
      if ("old" in entry) return `${field} was ${describeValue(entry["old"])}`
      return `${field} ${describeValue(change)}`
    })
    .join("; ")

const eventColumns: ReadonlyArray<Column<AuditEvent>> = [
  { header: "ID", value: (e) => String(e.id) },
  { header: "TIME", value: (e) => formatDate(e.occurredAt) },
  { header: "ACTOR", value: (e) => (e.actor === e.dbRole ? e.actor : `${e.actor} (${e.dbRole})`) },
  { header: "ACTION", value: (e) => e.action },
  { header: "ENTITY", value: (e) => (e.entityId === null ? e.entityType : `${e.entityType} ${e.entityId}`) },
  { header: "CHANGES", value: (e) => describeChanges(e.changes) + (e.reason === null ? "" : ` (reason: ${e.reason})`) }
]

export const commandAuditList = Command.make(
  "list",
  {
    tenant: Flag.String("tenant").pipe(
      Flag.withAlias("t"),
      Flag.withDescription("Only events about this tenant and its databases: its name, or its id (also after it was deleted)."),
      Flag.optional
    ),
    since: Flag.String("since").pipe(
      Flag.withDescription("Only events at or after this time: an ISO date or time (2026-11-01, 2026-11-01T09:00:00Z) or an age (30m, 24h, 7d)."),
      Flag.optional
    ),
    entity: Flag.Literals("entity", auditEntityTypes).pipe(Flag.withDescription("Only events about this kind of thing."), Flag.optional),
    action: Flag.Literals("action", auditActions).pipe(Flag.withDescription("Only events of this action."), Flag.optional),
    limit: Flag.Int("limit").pipe(Flag.withDescription("At most this many events (1 to 1000; default 100)."), Flag.optional),
    after: Flag.String("after").pipe(Flag.withDescription("Continue after the page that printed this cursor."), Flag.optional),
    json: jsonFlag
  },
  (flags) =>
    Effect.gen(function*() {
      const tenantId = Option.isSome(flags.tenant) ? Option.some(yield* tenantIdOf(flags.tenant.value)) : Option.none()
      const since = Option.isSome(flags.since) ? Option.some(yield* parseSince(flags.since.value, new Date())) : Option.none()
      const page = yield* (yield* AuditTrail).list({
        ...Option.match(tenantId, { onNone: () => ({}), onSome: (tenantId) => ({ tenantId }) }),
        ...Option.match(since, { onNone: () => ({}), onSome: (since) => ({ since }) }),
        ...Option.match(flags.entity, { onNone: () => ({}), onSome: (entityType) => ({ entityType }) }),
        ...Option.match(flags.action, { onNone: () => ({}), onSome: (action) => ({ action }) }),
        ...Option.match(flags.limit, { onNone: () => ({}), onSome: (limit) => ({ limit }) }),
        ...Option.match(flags.after, { onNone: () => ({}), onSome: (after) => ({ after }) })
      })
      if (flags.json) return yield* printJson(AuditEventPageView, page)
      yield* printTable(eventColumns, page.events, "No events.")
      if (page.nextCursor !== null) yield* Console.log(`More: control-plane audit list --after ${page.nextCursor} (with the same filters)`)
    })
).pipe(
  Command.withDescription(
    "List audit events, oldest first, a page at a time (--limit, --after): who (the actor, and the database role when it differs) did what to which tenant, database or configuration key, with the old and new values. Connection strings appear only as `connection_string changed`."
  ),
  Command.withShortDescription("List audit events.")
)
