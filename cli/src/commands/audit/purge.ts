/** `audit purge --older-than-days N`: the retention purge, behind a checkpoint; asks first (or --yes). */
import { Console, Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { maxRetentionDays } from "../../library.ts"
import { AuditTrail } from "../../library.ts"
import { confirm, yesFlag } from "../../confirm.ts"
import { jsonFlag, printJson } from "../../output.ts"
import { PurgeView } from "../../views.ts"

export const commandAuditPurge = Command.make(
  "purge",
  {
    olderThanDays: Flag.Int("older-than-days").pipe(
      Flag.withDescription(`Remove the events older than this many days (0 to ${maxRetentionDays}; 0 removes every event before now).`)
    ),
    yes: yesFlag,
    json: jsonFlag
  },
  ({ olderThanDays, yes, json }) =>
    Effect.gen(function*() {
      yield* confirm({
        yes,
        question: `Permanently delete the audit events older than ${olderThanDays} days?`,
        action: `purge the audit events older than ${olderThanDays} days`
      })
      // The reason, if any, is --reason, which the Actor carries to every event.
      const report = yield* (yield* AuditTrail).purge({ olderThanDays })
      if (json) return yield* printJson(PurgeView, report)
      yield* Console.log(
        `Purged ${report.purged} event${report.purged === 1 ? "" : "s"} older than ${olderThanDays} days; ` +
          `the chain now starts at #${report.firstKeptId}, anchored by checkpoint #${report.checkpoint.id}.`
      )
    })
).pipe(
  Command.withDescription(
    "Retention: verify the chain, then record a purge event (a checkpoint holding the hash the chain now starts from) and delete the events older than --older-than-days, in one transaction; `audit verify` still passes afterwards. The only way past the append-only guard, and recorded with --actor and --reason. Asks for confirmation on a terminal; --yes skips the question and is required without a terminal."
  ),
  Command.withShortDescription("Delete old audit events behind a checkpoint (asks first).")
)
