/** `db lint`: the migration checks of `npm run db:lint`. */
import { Command } from "effect/cli"
import { runNpmScript } from "./npmScript.ts"

export const commandDbLint = Command.make("lint", {}, () => runNpmScript("db:lint")).pipe(
  Command.withDescription(
    "Lint migrations/ (Atlas's checks and squawk's lock and safety rules), as `npm run db:lint`; exits non-zero on findings."
  )
)
