/** `db`: the schema tools (cli/src/schema, on the schema engine), in this process. */
import { Effect, Layer } from "effect"
import { existsSync } from "node:fs"
import { Command } from "effect/cli"
import { UsageError } from "../failure.ts"
import { projectFile } from "../schema/paths.ts"
import { commandDbApply } from "./db/apply.ts"
import { commandDbDiff } from "./db/diff.ts"
import { commandDbDrift } from "./db/drift.ts"
import { commandDbLint } from "./db/lint.ts"
import { commandDbMigrate } from "./db/migrate.ts"
import { commandDbRoutines } from "./db/routines.ts"
import { commandDbStatus } from "./db/status.ts"
import { commandDbTypes } from "./db/types.ts"

/**
 * The schema tools read the schema as code (schema.hcl, migrations/) and run
 * the schema engine, which a clone of the repository has and the CLI's package does not
 * ship yet: without them, one sentence says where the commands work.
 */
const schemaAsCode = Layer.effectDiscard(
  Effect.suspend(() =>
    existsSync(projectFile("schema.hcl"))
      ? Effect.void
      : Effect.fail(
        new UsageError({
          message: "the db commands need a clone of the control-plane repository (schema.hcl, migrations/, the schema engine): run them there as `npm run cli -- db ...`"
        })
      )
  )
)

export const commandDb = Command.make("db").pipe(
  Command.withDescription(
    "Apply, migrate, diff, lint and inspect the control-plane schema (schema.hcl, routines.hcl, migrations/) with the project's schema engine."
  ),
  Command.withSubcommands([
    commandDbApply.pipe(Command.provide(schemaAsCode)),
    commandDbMigrate.pipe(Command.provide(schemaAsCode)),
    commandDbDiff.pipe(Command.provide(schemaAsCode)),
    commandDbLint.pipe(Command.provide(schemaAsCode)),
    commandDbDrift.pipe(Command.provide(schemaAsCode)),
    commandDbStatus.pipe(Command.provide(schemaAsCode)),
    commandDbRoutines.pipe(Command.provide(schemaAsCode)),
    commandDbTypes.pipe(Command.provide(schemaAsCode))
  ])
)
