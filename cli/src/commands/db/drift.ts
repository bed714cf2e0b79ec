/** `db drift`: `npm run db:drift`, comparing DATABASE_URL with the schema as code. */
import { Effect, Redacted } from "effect"
import { Command } from "effect/cli"
import { databaseUrl } from "../../database.ts"
import { runSchemaScript } from "./script.ts"

export const commandDbDrift = Command.make("drift", {}, () =>
  // DATABASE_URL as the CLI was configured (the quick start's, say), checked like every other command's.
  Effect.flatMap(databaseUrl, (url) => runSchemaScript("drift", [], { DATABASE_URL: Redacted.value(url) }))
).pipe(
  Command.withDescription(
    "Compare DATABASE_URL with schema.hcl and routines.hcl (tables, enums, indexes, functions, triggers) and print any drift, as `npm run db:drift`. Exit 0 when they match, 1 on drift."
  ),
  Command.withShortDescription("Report drift from the schema as code.")
)
