/** `db drift`: `npm run db:drift`, comparing DATABASE_URL with the schema as code. */
import { Effect } from "effect"
import { Command } from "effect/cli"
import { databaseUrl } from "../../database.ts"
import { runSchemaScript } from "./script.ts"

export const commandDbDrift = Command.make("drift", {}, () =>
  // DATABASE_URL is checked here too, so a missing one reads like every other command's error.
  Effect.andThen(databaseUrl, runSchemaScript("drift"))
).pipe(
  Command.withDescription(
    "Compare DATABASE_URL with schema.hcl and routines.hcl (tables, enums, indexes, functions, triggers) and print any drift, as `npm run db:drift`. Exit 0 when they match, 1 on drift."
  ),
  Command.withShortDescription("Report drift from the schema as code.")
)
