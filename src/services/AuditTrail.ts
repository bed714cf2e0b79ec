/**
 * The AuditTrail service: verify the hash chain of control_plane.audit_events,
 * page through the events, and purge those older than a retention period.
 *
 * The events themselves are written by the database (routines.hcl), in the
 * same transaction as each change, and by the services for reveals and key
 * rotations. `verify` recomputes every hash with this library's own
 * expression (auditChain.ts) and names the first event where the chain breaks
 * (AuditChainBroken). `purge` is the one way past the append-only guard: it
 * appends a purge event, a checkpoint recording where the chain now starts
 * and the hash it starts from, then deletes the events before it, all in one
 * transaction; it refuses to run on a chain that does not verify, so a purge
 * never hides tampering.
 */
import { Context, Effect, Layer } from "effect"
import { Db, sql } from "../db/Db.ts"
import type { SQLQuery } from "../db/Db.ts"
import type AuditEvents_Row from "../db/generated/audit_events.ts"
import {
  AuditChainBroken,
  type AuditEvent,
  type AuditEventPage,
  type ChainReport,
  defaultAuditPageSize,
  ListAuditEventsInput,
  PurgeAuditEventsInput,
  type PurgeReport
} from "../domain/AuditEvent.ts"
import { decodeInput, InvalidInput } from "../domain/errors.ts"
import type { DbError } from "../domain/errors.ts"
import { Actor, actorContext } from "./Actor.ts"
import { type ChainBreakRow, verifySql } from "./auditChain.ts"

export interface AuditTrailService {
  /** Checks the whole chain; AuditChainBroken names the first event that breaks it. */
  readonly verify: () => Effect.Effect<ChainReport, AuditChainBroken | DbError>
  /**
   * One page of events, oldest first, with optional filters. Keyset
   * pagination on the event id: events appended between pages appear on a
   * later page, never shift one.
   */
  readonly list: (input?: ListAuditEventsInput) => Effect.Effect<AuditEventPage, InvalidInput | DbError>
  /**
   * Deletes the events older than `olderThanDays` days behind a checkpoint
   * event, recorded with the actor; the chain still verifies afterwards.
   * Runs in one transaction that holds the append lock while it deletes, so
   * purge often (e.g. daily) to keep each run short.
   */
  readonly purge: (
    input: PurgeAuditEventsInput
  ) => Effect.Effect<PurgeReport, AuditChainBroken | InvalidInput | DbError, Actor>
}

const decodeList = decodeInput(ListAuditEventsInput, "audit list options")
const decodePurge = decodeInput(PurgeAuditEventsInput, "audit purge")

const columns = sql`id, occurred_at, actor, db_role, action, entity_type, entity_id, tenant_id, changes, reason,
  encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash`

type EventRow = Omit<AuditEvents_Row, "prev_hash" | "hash"> & { readonly prev_hash: string; readonly hash: string }

const toEvent = (row: EventRow): AuditEvent => ({
  id: Number(row.id),
  occurredAt: row.occurred_at,
  actor: row.actor,
  dbRole: row.db_role,
  action: row.action,
  entityType: row.entity_type,
  entityId: row.entity_id,
  tenantId: row.tenant_id,
  changes: row.changes as AuditEvent["changes"],
  reason: row.reason,
  prevHash: row.prev_hash,
  hash: row.hash
})

// The cursor is the last event id of the page, as decimal text.
const cursorShape = /^[0-9]{1,18}$/
const decodeCursor = (cursor: string): Effect.Effect<string, InvalidInput> =>
  cursorShape.test(cursor)
    ? Effect.succeed(cursor)
    : Effect.fail(new InvalidInput({ message: "Invalid audit list options: `after` is not a cursor given by list" }))

const firstRow = <A>(rows: ReadonlyArray<A>, what: string): Effect.Effect<A> =>
  rows[0] === undefined ? Effect.die(`${what} gave no row`) : Effect.succeed(rows[0])

export class AuditTrail extends Context.Service<AuditTrail, AuditTrailService>()("control-plane/AuditTrail") {
  static readonly layerNoDeps = Layer.effect(
    AuditTrail,
    Effect.gen(function*() {
      const db = yield* Db

      // One snapshot for the check and the summary, so that the events counted
      // and the head hash given are the ones checked, whatever is appended meanwhile.
      const verify = () => db.transaction(Effect.andThen(db.query(sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`), verifyChain()))

      const verifyChain = Effect.fn("AuditTrail.verify")(function*() {
        const broken = yield* db.query<ChainBreakRow>(verifySql)
        const first = broken[0]
        if (first !== undefined) {
          return yield* new AuditChainBroken({
            eventId: Number(first.id),
            problem: first.problem,
            previousId: first.previous_id === null ? null : Number(first.previous_id),
            expectedId: Number(first.expected_id)
          })
        }
        const summary = yield* db.query<{ events: bigint; first_id: bigint | null; last_id: bigint | null; head: string | null }>(
          sql`SELECT count(*) AS events, min(id) AS first_id, max(id) AS last_id,
                     (SELECT encode(hash, 'hex') FROM control_plane.audit_events ORDER BY id DESC LIMIT 1) AS head
              FROM control_plane.audit_events`
        ).pipe(Effect.flatMap((rows) => firstRow(rows, "SELECT count(*)")))
        return {
          events: Number(summary.events),
          firstId: summary.first_id === null ? null : Number(summary.first_id),
          lastId: summary.last_id === null ? null : Number(summary.last_id),
          headHash: summary.head
        }
      })

      const list = Effect.fn("AuditTrail.list")(function*(input: ListAuditEventsInput = {}) {
        const options = yield* decodeList(input)
        const limit = options.limit ?? defaultAuditPageSize
        const conditions: Array<SQLQuery> = []
        if (options.tenantId !== undefined) conditions.push(sql`tenant_id = ${options.tenantId}`)
        if (options.since !== undefined) conditions.push(sql`occurred_at >= ${options.since}`)
        if (options.entityType !== undefined) conditions.push(sql`entity_type = ${options.entityType}`)
        if (options.action !== undefined) conditions.push(sql`action = ${options.action}`)
        if (options.after !== undefined) conditions.push(sql`id > ${yield* decodeCursor(options.after)}::bigint`)
        const where = conditions.length === 0 ? sql`` : sql`WHERE ${sql.join(conditions, sql` AND `)}`
        // One row more than the page tells whether another page follows.
        const rows = yield* db.query<EventRow>(
          sql`SELECT ${columns} FROM control_plane.audit_events ${where} ORDER BY id LIMIT ${limit + 1}`
        )
        const page = rows.slice(0, limit)
        const last = page[page.length - 1]
        return {
          events: page.map(toEvent),
          nextCursor: rows.length > limit && last !== undefined ? String(last.id) : null
        }
      })

      const purge = Effect.fn("AuditTrail.purge")(function*(input: PurgeAuditEventsInput) {
        const options = yield* decodePurge(input)
        const actor = yield* Actor
        yield* verify()
        return yield* db.transaction(Effect.gen(function*() {
          // The append trigger turns this into the checkpoint (first_kept_id,
          // anchor_hash, purged), computed under the append lock.
          const checkpoint = yield* db.query<EventRow>(
            sql`INSERT INTO control_plane.audit_events (action, entity_type, changes, reason)
                SELECT 'purge', 'audit_trail',
                       jsonb_build_object('before', now() - make_interval(days => ${options.olderThanDays}::int)),
                       ${options.reason ?? null}::text
                FROM ${actorContext(actor)}
                RETURNING ${columns}`
          ).pipe(Effect.flatMap((rows) => firstRow(rows, "INSERT ... RETURNING")), Effect.map(toEvent))
          const firstKeptId = Number(checkpoint.changes["first_kept_id"])
          yield* db.query(sql`DELETE FROM control_plane.audit_events WHERE id < ${firstKeptId}`)
          return { checkpoint, purged: Number(checkpoint.changes["purged"]), firstKeptId }
        }))
      })

      return AuditTrail.of({ verify, list, purge })
    })
  )

  /** AuditTrail on a Db configured from the environment. */
  static readonly layer = AuditTrail.layerNoDeps.pipe(Layer.provide(Db.layer))
}
