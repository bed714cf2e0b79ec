/** `db drift`: `npm run db:drift`, comparing the live database with the schema as code. */
import { Command } from "effect/cli"
import { runNpmScript } from "./npmScript.ts"

export const commandDbDrift = Command.make("drift", {}, () => runNpmScript("db:drift")).pipe(
  Command.withDescription(
    "Compare DATABASE_URL with schema.hcl and routines.hcl and report any drift, as `npm run db:drift`; exits non-zero when they differ."
  )
)
