/** `db migrate`: the versioned path (the reviewed files of migrations/), as `npm run db:migrate`. */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { withDatabaseUrl } from "./schemaTool.ts"

export const commandDbMigrate = Command.make("migrate", {}, () =>
  Effect.gen(function*() {
    const output = yield* withDatabaseUrl("atlas migrate apply", async (url) =>
      (await import("../../schema/apply.ts")).applyMigrations(url)
    )
    yield* Console.log(output === "" ? "Migrations: nothing to apply." : output)
  })
).pipe(
  Command.withDescription(
    "Apply the pending files of migrations/ to DATABASE_URL (versioned path, the one for production), recording each in atlas_schema_revisions."
  ),
  Command.withShortDescription("Apply pending migrations (versioned path).")
)
