/** `db`: the schema tools of cli/src/schema, for DATABASE_URL. */
import { Effect, Layer } from "effect"
import { existsSync } from "node:fs"
import { Command } from "effect/cli"
import { UsageError } from "../failure.ts"
import { projectFile } from "../schema/paths.ts"
import { commandDbApply } from "./db/apply.ts"
import { commandDbDrift } from "./db/drift.ts"
import { commandDbLint } from "./db/lint.ts"
import { commandDbMigrate } from "./db/migrate.ts"
import { commandDbStatus } from "./db/status.ts"

/**
 * The schema tools read the schema as code (schema.hcl, migrations/) and run
 * Atlas, which a clone of the repository has and the CLI's package does not
 * ship yet: without them, one sentence says where the commands work.
 */
const schemaAsCode = Layer.effectDiscard(
  Effect.suspend(() =>
    existsSync(projectFile("schema.hcl"))
      ? Effect.void
      : Effect.fail(
        new UsageError({
          message: "the db commands need a clone of the control-plane repository (schema.hcl, migrations/, Atlas): run them there as `npm run cli -- db ...`"
        })
      )
  )
)

export const commandDb = Command.make("db").pipe(
  Command.withDescription("Apply, migrate, lint and inspect the control-plane schema (Atlas)."),
  Command.withSubcommands([
    commandDbApply.pipe(Command.provide(schemaAsCode)),
    commandDbMigrate.pipe(Command.provide(schemaAsCode)),
    commandDbLint.pipe(Command.provide(schemaAsCode)),
    commandDbDrift.pipe(Command.provide(schemaAsCode)),
    commandDbStatus.pipe(Command.provide(schemaAsCode))
  ])
)
