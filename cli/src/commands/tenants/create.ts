/** `tenants create <name> --environment <env>`: a new tenant, pending until it is resumed with an active database. */
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { tenantEnvironments, Tenants } from "../../library.ts"
import { jsonFlag } from "../../output.ts"
import { printTenant } from "./shared.ts"

export const commandTenantsCreate = Command.make(
  "create",
  {
    name: Argument.String("name").pipe(
      Argument.withDescription("The new tenant's name: 1 to 255 characters, unique, no surrounding spaces or control characters.")
    ),
    environment: Flag.Literals("environment", tenantEnvironments).pipe(
      Flag.withAlias("e"),
      Flag.withDescription("Where the tenant runs.")
    ),
    json: jsonFlag
  },
  ({ name, environment, json }) =>
    Effect.gen(function*() {
      const tenant = yield* (yield* Tenants).create({ name, environment })
      yield* printTenant(tenant, json)
    })
).pipe(
  Command.withDescription(
    "Create a tenant. Every tenant starts as pending; register its database, then `tenants resume` makes it active."
  ),
  Command.withShortDescription("Create a tenant.")
)
