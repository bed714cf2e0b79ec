/**
 * The Actor: who is making a change, and optionally why. Every write of the
 * library (and every reveal, which is recorded too) requires one, and the
 * audit trail names it on each event; reads do not. A backend provides one per
 * request (the signed-in operator, the calling service), the CLI one per run
 * (`--actor`, the OS user by default).
 *
 * The actor reaches the database as transaction-local settings
 * (`control_plane.actor`, `control_plane.audit_reason`), set by the very
 * statement that writes (see `actorContext`), which the audit triggers read.
 * The database cannot check an application's claim: each event also records
 * the database role that made it.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { sql } from "../db/Db.ts"
import type { SQLQuery } from "../db/Db.ts"
import { AuditReason } from "../domain/AuditEvent.ts"
import { decodeInput } from "../domain/errors.ts"
import type { InvalidInput } from "../domain/errors.ts"
import { VisibleText } from "../domain/text.ts"

/**
 * An actor's name: 1 to 255 characters, no surrounding whitespace, no control,
 * invisible or text-direction characters (e.g. `alice`, `billing-service`):
 * the audit trail shows it as the one who made a change, so it must read as
 * what it is.
 */
export const ActorName = VisibleText(255)

const ActorInput = Schema.Struct({
  name: ActorName,
  reason: Schema.optionalKey(AuditReason)
})

export interface ActorService {
  readonly name: string
  /** Why the actor is making these changes (a ticket, an incident), recorded on each event. */
  readonly reason?: string
}

const decodeActor = decodeInput(ActorInput, "actor")

export class Actor extends Context.Service<Actor, ActorService>()("control-plane/Actor") {
  /** A checked actor: InvalidInput when the name or the reason breaks the text rules. */
  static readonly make = (name: string, reason?: string): Effect.Effect<ActorService, InvalidInput> =>
    decodeActor(reason === undefined ? { name } : { name, reason })

  /** A layer with one actor for everything run on it (a CLI run, a job). */
  static readonly layer = (name: string, options: { readonly reason?: string } = {}): Layer.Layer<Actor, InvalidInput> =>
    Layer.effect(Actor, Actor.make(name, options.reason))
}

/**
 * A one-row FROM item that sets the actor (and the reason, or none) for the
 * rest of the transaction: `INSERT ... SELECT ... FROM ${actorContext(actor)}`,
 * `UPDATE ... FROM ${actorContext(actor)} WHERE ...`, `DELETE ... USING ...`.
 * Setting it in the writing statement itself, rather than in a statement of
 * its own, keeps a single-statement write one round trip with no explicit
 * transaction (rather than four: BEGIN, SET, the write, COMMIT).
 * The audit triggers fire after the statement has read this row.
 */
export const actorContext = (actor: ActorService): SQLQuery =>
  sql`(SELECT set_config('control_plane.actor', ${actor.name}, true) AS actor,
              set_config('control_plane.audit_reason', ${actor.reason ?? ""}, true) AS reason) AS audit_context`
