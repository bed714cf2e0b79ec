/** `databases remove <id>`: forgets the record (asks first, or --yes); the database itself is untouched. */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { Tenants, TenantDatabases } from "../../library.ts"
import { DatabaseProvisioned } from "../../fleet/errors.ts"
import { confirm, yesFlag } from "../../confirm.ts"
import { jsonFlag, printJson } from "../../output.ts"
import { RemovedDatabaseView } from "../../views.ts"
import { databaseIdArgument } from "./shared.ts"

export const commandDatabasesRemove = Command.make(
  "remove",
  { id: databaseIdArgument, yes: yesFlag, json: jsonFlag },
  ({ id, yes, json }) =>
    Effect.gen(function*() {
      const databases = yield* TenantDatabases
      const found = yield* databases.get(id)
      const what = `database ${JSON.stringify(found.databaseName)} on ${found.host}:${found.port} (${found.id})`
      yield* confirm({ yes, question: `Remove the record of ${what}?`, action: `remove the record of ${what}` })
      const removed = yield* databases.remove(found.id).pipe(
        // A provisioning record still points at it (tenants deprovision removes both).
        Effect.catchIf(
          (error) => error._tag === "DbError" && error.reason._tag === "ForeignKeyViolation" &&
            error.reason.constraint === "tenant_provisioning_database_id_fkey",
          () =>
            Effect.flatMap(Tenants.use((tenants) => tenants.get(found.tenantId)), (tenant) =>
              Effect.fail(new DatabaseProvisioned({ database: found.id, tenant: tenant.name })))
        )
      )
      yield* json
        ? printJson(RemovedDatabaseView, { removed })
        : Console.log(`Removed the record of database ${JSON.stringify(removed.databaseName)} on ${removed.host}:${removed.port} (${removed.id}).`)
    })
).pipe(
  Command.withDescription(
    "Remove a tenant database record and its encrypted connection string. The database itself is not touched. Asks for confirmation on a terminal; --yes skips the question and is required without a terminal."
  ),
  Command.withShortDescription("Remove a database record (asks first).")
)
