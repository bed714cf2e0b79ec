/** `db apply`: the declarative path (schema.hcl, routines, seeds), as `npm run db:apply`. */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { databaseUrl } from "../../database.ts"
import { jsonFlag, printJson } from "../../output.ts"
import { ApplyReport, applyDesiredState } from "../../schema/apply.ts"
import { configFlag, withSchemaTools } from "./tools.ts"

export const commandDbApply = Command.make("apply", { json: jsonFlag, config: configFlag }, ({ json, config }) =>
  Effect.gen(function*() {
    const report = yield* applyDesiredState(yield* databaseUrl)
    if (json) return yield* printJson(ApplyReport, report)
    if (report.changes.length === 0) yield* Console.log("Schema: already in the desired state.")
    else {
      yield* Console.log(`Schema: applied ${report.changes.length} change(s):`)
      for (const change of report.changes) yield* Console.log(`  -- ${change.comment}\n  ${change.sql};`)
    }
    yield* Console.log(`Routines: ${report.routines.join(", ")}`)
    yield* Console.log(`Seeds: ${report.seeds.join(", ")}`)
  }).pipe(withSchemaTools(config))
).pipe(
  Command.withDescription(
    "Bring DATABASE_URL to the desired state of schema.hcl and routines.hcl (declarative path: the schema engine plans the difference on a scratch database and applies it), then run the idempotent seeds. For development databases; production uses `db migrate`."
  ),
  Command.withShortDescription("Apply the schema as code (declarative path).")
)
