/** `db`: the schema tools of src/schema, for DATABASE_URL. */
import { Command } from "effect/cli"
import { commandDbApply } from "./db/apply.ts"
import { commandDbDrift } from "./db/drift.ts"
import { commandDbLint } from "./db/lint.ts"
import { commandDbMigrate } from "./db/migrate.ts"
import { commandDbStatus } from "./db/status.ts"

export const commandDb = Command.make("db").pipe(
  Command.withDescription("Apply, migrate, lint and inspect the control-plane schema (Atlas)."),
  Command.withSubcommands([commandDbApply, commandDbMigrate, commandDbLint, commandDbDrift, commandDbStatus])
)
