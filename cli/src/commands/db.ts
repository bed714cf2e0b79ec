/** `db`: the schema tools (cli/src/schema, on the schema engine), in this process. */
import { Command } from "effect/cli"
import { commandDbApply } from "./db/apply.ts"
import { commandDbDiff } from "./db/diff.ts"
import { commandDbDrift } from "./db/drift.ts"
import { commandDbLint } from "./db/lint.ts"
import { commandDbMigrate } from "./db/migrate.ts"
import { commandDbRoutines } from "./db/routines.ts"
import { commandDbStatus } from "./db/status.ts"
import { commandDbTypes } from "./db/types.ts"

export const commandDb = Command.make("db").pipe(
  Command.withDescription(
    "Apply, migrate, diff, lint and inspect the control-plane schema (schema.hcl, routines.hcl, migrations/) with the project's schema engine."
  ),
  Command.withSubcommands([
    commandDbApply,
    commandDbMigrate,
    commandDbDiff,
    commandDbLint,
    commandDbDrift,
    commandDbStatus,
    commandDbRoutines,
    commandDbTypes
  ])
)
