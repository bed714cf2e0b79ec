/** `databases reveal <id>`: the one way to see a stored connection string. */
import { Console, Effect, Redacted } from "effect"
import { Command } from "effect/cli"
import { TenantDatabases } from "../../library.ts"
import { jsonFlag, printJson } from "../../output.ts"
import { RevealedView } from "../../views.ts"
import { databaseIdArgument } from "./shared.ts"

export const commandDatabasesReveal = Command.make("reveal", { id: databaseIdArgument, json: jsonFlag }, ({ id, json }) =>
  Effect.gen(function*() {
    const secret = yield* (yield* TenantDatabases).reveal(id)
    // The only place the plaintext leaves its Redacted wrapper: stdout, because the operator asked.
    yield* json ? printJson(RevealedView, { id, connectionString: Redacted.value(secret) }) : Console.log(Redacted.value(secret))
  })
).pipe(
  Command.withDescription(
    "Decrypt and print a tenant database's connection string on stdout, alone on its line (e.g. `psql \"$(control-plane databases reveal <id>)\"`). The only command that ever prints one."
  ),
  Command.withShortDescription("Print a connection string (decrypted).")
)
