/**
 * Confirmation before destructive commands: `--yes` skips it; on a terminal
 * the command asks; without a terminal (a script, a pipe) it refuses with a
 * usage error, since silence must never mean yes.
 */
import { Effect } from "effect"
import { Flag, Prompt } from "effect/cli"
import { NotConfirmed, UsageError } from "./failure.ts"
import { interactive } from "./terminal.ts"

/** `--yes`/`-y`: do it without asking. */
export const yesFlag = Flag.Boolean("yes").pipe(
  Flag.withAlias("y"),
  Flag.withDescription("Do not ask for confirmation (needed when there is no terminal to ask on)."),
  Flag.withDefault(false)
)

export const confirm = (options: { readonly yes: boolean; readonly question: string; readonly action: string }) =>
  Effect.gen(function*() {
    if (options.yes) return
    if (!(yield* interactive)) {
      return yield* new UsageError({
        message: `refusing to ${options.action} without confirmation: pass --yes (there is no terminal to ask on)`
      })
    }
    const confirmed = yield* Prompt.run(Prompt.Confirm({ message: options.question, initial: false }))
    if (!confirmed) return yield* new NotConfirmed({ message: `not confirmed: did not ${options.action}` })
  })
