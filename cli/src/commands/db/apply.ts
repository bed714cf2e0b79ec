/** `db apply`: the declarative path (schema.hcl, routines, seeds), as `npm run db:apply`. */
import { Console, Effect, Schema } from "effect"
import { Command } from "effect/cli"
import { jsonFlag, printJson } from "../../output.ts"
import { withDatabaseUrl } from "./schemaTool.ts"

export const commandDbApply = Command.make("apply", { json: jsonFlag }, ({ json }) =>
  Effect.gen(function*() {
    const report = yield* withDatabaseUrl("atlas schema apply", async (url) =>
      (await import("../../schema/apply.ts")).applyDesiredState(url)
    )
    if (json) return yield* printJson(Schema.Json, report as unknown as Schema.Json)
    yield* Console.log(report.plan === "" ? "Schema: already in the desired state." : report.plan)
    yield* Console.log(`Routines: ${report.routines.join(", ")}`)
    yield* Console.log(`Seeds: ${report.seeds.join(", ")}`)
  })
).pipe(
  Command.withDescription(
    "Bring DATABASE_URL to the desired state of schema.hcl and routines.hcl (declarative path: Atlas plans the difference and applies it), then run the idempotent seeds. For development databases; production uses `db migrate`."
  ),
  Command.withShortDescription("Apply the schema as code (declarative path).")
)
