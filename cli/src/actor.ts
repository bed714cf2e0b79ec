/**
 * Who runs a command, for the audit trail: the global `--actor` flag (the OS
 * user by default) and `--reason`, made into the library's Actor for every
 * command that writes or reveals.
 */
import { userInfo } from "node:os"
import { Effect, Layer, Option } from "effect"
import { Flag, GlobalFlag } from "effect/cli"
import { Actor } from "./library.ts"

/** `--actor <name>`: recorded as the actor of every change this command makes. */
export const ActorFlag = GlobalFlag.Setting("actor")({
  flag: Flag.String("actor").pipe(
    Flag.withDescription("Who is acting, recorded with every change in the audit trail (default: the OS user name)."),
    Flag.optional
  )
})

/** `--reason <text>`: recorded with every change this command makes. */
export const ReasonFlag = GlobalFlag.Setting("reason")({
  flag: Flag.String("reason").pipe(
    Flag.withDescription("Why, recorded with every change in the audit trail (a ticket, an incident)."),
    Flag.optional
  )
})

/** The OS user running the CLI; a user without a name (a container's bare uid) is `uid:<n>`. */
export const osUser = (): string => {
  try {
    return userInfo().username
  } catch {
    return `uid:${process.getuid?.() ?? "unknown"}`
  }
}

/** The Actor from --actor/--reason; an actor name or reason that breaks the text rules is InvalidInput (exit 2). */
export const actorLayer = Layer.effect(
  Actor,
  Effect.gen(function*() {
    const name = Option.getOrElse(yield* ActorFlag, osUser)
    const reason = Option.getOrUndefined(yield* ReasonFlag)
    return yield* Actor.make(name, reason)
  })
)
