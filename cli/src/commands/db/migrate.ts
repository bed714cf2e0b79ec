/** `db migrate`: the versioned path (the reviewed files of migrations/), as `npm run db:migrate`. */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { databaseUrl } from "../../database.ts"
import { jsonFlag, printJson } from "../../output.ts"
import { MigrationsApplied } from "../../engine/Engine.ts"
import { applyMigrations } from "../../schema/apply.ts"
import { configFlag, withSchemaTools } from "./tools.ts"

export const commandDbMigrate = Command.make("migrate", { json: jsonFlag, config: configFlag }, ({ json, config }) =>
  Effect.gen(function*() {
    const result = yield* applyMigrations(yield* databaseUrl)
    if (json) return yield* printJson(MigrationsApplied, result)
    if (result.applied.length === 0) {
      return yield* Console.log(`Migrations: nothing to apply (at version ${result.current || "none"}).`)
    }
    for (const file of result.applied) {
      yield* Console.log(`Applied ${file.version} ${file.description} (${file.statements} statement(s), ${file.durationMs} ms)`)
    }
    yield* Console.log(`Migrations: ${result.applied.length} file(s) applied, now at version ${result.current}.`)
  }).pipe(withSchemaTools(config))
).pipe(
  Command.withDescription(
    "Apply the pending files of migrations/ to DATABASE_URL (versioned path, the one for production), recording each in atlas_schema_revisions, as the official atlas CLI does."
  ),
  Command.withShortDescription("Apply pending migrations (versioned path).")
)
