/** `db routines`: the routines migration from routines.hcl, as `npm run db:routines`. */
import { Console, Effect, Option } from "effect"
import { Command } from "effect/cli"
import { Engine } from "../../engine/Engine.ts"
import { writeRoutinesMigration } from "../../schema/diff.ts"
import { SchemaProject } from "../../schema/Project.ts"
import { configFlag, withSchemaTools } from "./tools.ts"

export const commandDbRoutines = Command.make("routines", { config: configFlag }, ({ config }) =>
  Effect.gen(function*() {
    const written = yield* writeRoutinesMigration
    if (Option.isNone(written)) return yield* Console.log("The newest routines migration already matches routines.hcl.")
    const engine = yield* Engine
    yield* engine.migrateHash(yield* SchemaProject)
    yield* Console.log(`Wrote migrations/${written.value} and re-hashed atlas.sum.`)
  }).pipe(withSchemaTools(config))
).pipe(
  Command.withDescription(
    "Write the function and triggers of routines.hcl as a new migration when the newest routines migration no longer matches them, and re-hash atlas.sum. Run it after editing routines.hcl."
  ),
  Command.withShortDescription("Write the routines migration from routines.hcl.")
)
