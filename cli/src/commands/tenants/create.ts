/** `tenants create <name> --environment <env>`: a new tenant (status pending unless --status says otherwise). */
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { tenantEnvironments, tenantStatuses } from "../../library.ts"
import { Tenants } from "../../library.ts"
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
    status: Flag.Literals("status", tenantStatuses).pipe(
      Flag.withDescription("Its status to begin with (default: pending, until its database exists)."),
      Flag.optional
    ),
    json: jsonFlag
  },
  ({ name, environment, status, json }) =>
    Effect.gen(function*() {
      const tenants = yield* Tenants
      const tenant = yield* tenants.create({
        name,
        environment,
        ...Option.match(status, { onNone: () => ({}), onSome: (status) => ({ status }) })
      })
      yield* printTenant(tenant, json)
    })
).pipe(
  Command.withDescription("Create a tenant. It starts as pending unless --status says otherwise."),
  Command.withShortDescription("Create a tenant.")
)
