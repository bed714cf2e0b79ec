/** `db diff <name>`: the next migration from schema.hcl (and routines.hcl), as `npm run db:diff -- <name>`. */
import { Console, Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { generateMigration } from "../../schema/diff.ts"
import { configFlag, withSchemaTools } from "./tools.ts"

export const commandDbDiff = Command.make(
  "diff",
  {
    name: Argument.String("name").pipe(
      Argument.withDescription("What the migration does, verb_noun in lower case, e.g. add_region_to_tenant_databases.")
    ),
    config: configFlag
  },
  ({ name, config }) =>
    Effect.gen(function*() {
      const result = yield* generateMigration(name)
      if (result.written.length === 0) {
        return yield* Console.log("No changes: migrations/ already matches schema.hcl and routines.hcl.")
      }
      for (const file of result.written) yield* Console.log(`Wrote migrations/${file}`)
      yield* Console.log("atlas.sum re-hashed. Next: review the SQL, then `npm run db:lint`, then commit.")
    }).pipe(withSchemaTools(config))
).pipe(
  Command.withDescription(
    "Write the migration that brings migrations/ to schema.hcl (planned by the schema engine on a scratch database, with lock_timeout and, for CONCURRENTLY, `-- atlas:txmode none`), plus a routines migration when routines.hcl changed, and re-hash atlas.sum."
  ),
  Command.withShortDescription("Write the next migration from schema.hcl.")
)
