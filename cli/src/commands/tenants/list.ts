/** `tenants list`: one page of tenants, oldest first, with filters. */
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { tenantEnvironments, tenantStatuses } from "../../library.ts"
import { Tenants } from "../../library.ts"
import { jsonFlag, printJson, printTable } from "../../output.ts"
import { TenantPageView } from "../../views.ts"
import { tenantColumns } from "./shared.ts"

export const commandTenantsList = Command.make(
  "list",
  {
    status: Flag.Literals("status", tenantStatuses).pipe(
      Flag.withDescription("Only tenants with this status."),
      Flag.optional
    ),
    environment: Flag.Literals("environment", tenantEnvironments).pipe(
      Flag.withAlias("e"),
      Flag.withDescription("Only tenants in this environment."),
      Flag.optional
    ),
    limit: Flag.Int("limit").pipe(Flag.withDescription("At most this many tenants (1 to 500; default 50)."), Flag.optional),
    after: Flag.String("after").pipe(
      Flag.withDescription("Continue after the page that printed this cursor."),
      Flag.optional
    ),
    json: jsonFlag
  },
  (flags) =>
    Effect.gen(function*() {
      const tenants = yield* Tenants
      const page = yield* tenants.list({
        ...Option.match(flags.status, { onNone: () => ({}), onSome: (status) => ({ status }) }),
        ...Option.match(flags.environment, { onNone: () => ({}), onSome: (environment) => ({ environment }) }),
        ...Option.match(flags.limit, { onNone: () => ({}), onSome: (limit) => ({ limit }) }),
        ...Option.match(flags.after, { onNone: () => ({}), onSome: (after) => ({ after }) })
      })
      if (flags.json) {
        return yield* printJson(TenantPageView, page)
      }
      yield* printTable(tenantColumns, page.tenants, "No tenants.")
      if (page.nextCursor !== null) yield* Console.log(`More: control-plane tenants list --after ${page.nextCursor}`)
    })
).pipe(
  Command.withDescription("List tenants, oldest first, a page at a time (--limit, --after), optionally filtered by status or environment."),
  Command.withShortDescription("List tenants.")
)
