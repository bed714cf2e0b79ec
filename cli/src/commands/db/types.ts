/** `db types`: the row types of src/db/generated/, as `npm run db:types`. */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { generatedDirectory, generateRowTypes } from "../../schema/generateTypes.ts"
import { withSchemaTools } from "./tools.ts"

export const commandDbTypes = Command.make("types", {}, () =>
  Effect.gen(function*() {
    const files = yield* generateRowTypes(generatedDirectory)
    yield* Console.log(`Wrote ${files.length} files to src/db/generated/: ${files.join(", ")}`)
  }).pipe(withSchemaTools())
).pipe(
  Command.withDescription(
    "Regenerate the row types of src/db/generated/ from a scratch database the migrations built (on the scratch-database server, CONTROL_PLANE_ADMIN_URL)."
  ),
  Command.withShortDescription("Regenerate the row types from the migrations.")
)
