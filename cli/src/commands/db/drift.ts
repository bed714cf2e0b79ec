/** `db drift`: DATABASE_URL compared with the schema as code, as `npm run db:drift`. */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { databaseUrl } from "../../database.ts"
import { detectDrift, formatDriftReport, hasDrift } from "../../schema/drift.ts"
import { configFlag, SchemaCheckFailed, withSchemaTools } from "./tools.ts"

export const commandDbDrift = Command.make("drift", { config: configFlag }, ({ config }) =>
  Effect.gen(function*() {
    const report = yield* detectDrift(yield* databaseUrl)
    yield* Console.log(formatDriftReport(report))
    if (hasDrift(report)) {
      return yield* new SchemaCheckFailed({ message: `database "${report.database}" has drifted from the desired state` })
    }
  }).pipe(withSchemaTools(config))
).pipe(
  Command.withDescription(
    "Compare DATABASE_URL with schema.hcl and routines.hcl (tables, enums, indexes, functions, triggers) and print any drift. Exit 0 when they match, 1 on drift."
  ),
  Command.withShortDescription("Report drift from the schema as code.")
)
