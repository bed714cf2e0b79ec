/** `audit verify`: recompute the hash chain; exit 1 naming the first event that breaks it. */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { AuditTrail } from "../../library.ts"
import { jsonFlag, printJson } from "../../output.ts"
import { ChainReportView } from "../../views.ts"

export const commandAuditVerify = Command.make("verify", { json: jsonFlag }, ({ json }) =>
  Effect.gen(function*() {
    const report = yield* (yield* AuditTrail).verify()
    if (json) return yield* printJson(ChainReportView, report)
    if (report.events === 0) return yield* Console.log("Audit chain verified: no events yet.")
    yield* Console.log(
      `Audit chain verified: ${report.events} event${report.events === 1 ? "" : "s"} ` +
        `(#${report.firstId} to #${report.lastId}), head hash ${report.headHash}.`
    )
  })
).pipe(
  Command.withDescription(
    "Recompute every event's hash and check that each links to the one before it (or, after a purge, to the checkpoint it recorded). Exit 0 when the chain holds, printing the head hash (keep it elsewhere: a later run that does not reach it means the chain was rewritten); exit 1 naming the first event that was altered, unlinked or is missing."
  ),
  Command.withShortDescription("Check the audit trail's hash chain.")
)
