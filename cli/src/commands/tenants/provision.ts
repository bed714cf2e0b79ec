/**
 * `tenants provision <name> --environment <env>`: the tenant, its role and
 * database on the least-loaded open server, the template's migrations and
 * seeds, then active. Idempotent: run it again to resume after a failure or
 * a crash, or to confirm a tenant is provisioned.
 */
import { Clock, Console, Effect, Option, Stdio } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { tenantEnvironments } from "../../library.ts"
import { Provisioning, type StepEvent } from "../../fleet/Provisioning.ts"
import { jsonFlag, printJson, renderRecord } from "../../output.ts"
import { stderrIsTerminal, writeStderr } from "../../terminal.ts"
import { ProvisionedView } from "../../views.ts"

/** One line per finished step on stderr (a terminal only): stdout keeps the result. */
const stepPrinter = (stdio: Stdio.Stdio) => {
  let started = 0
  return (event: StepEvent) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      if (event.phase === "start") {
        started = now
        return Effect.void
      }
      return writeStderr(`  ${event.step} (${now - started} ms)\n`).pipe(Effect.provideService(Stdio.Stdio, stdio))
    })
}

export const commandTenantsProvision = Command.make(
  "provision",
  {
    name: Argument.String("name").pipe(
      Argument.withDescription("The tenant's name: a new one, or one whose provisioning is to be resumed.")
    ),
    environment: Flag.Literals("environment", tenantEnvironments).pipe(
      Flag.withAlias("e"),
      Flag.withDescription("Where the tenant runs.")
    ),
    server: Flag.String("server").pipe(
      Flag.withDescription("Place the database on this server (name or id) instead of the least-loaded open one."),
      Flag.optional
    ),
    namePrefix: Flag.String("name-prefix").pipe(
      Flag.withDescription(
        "What the role and database names start with (default tenant_); the tenant id's 32 hex digits follow, so at most 31 characters."
      ),
      Flag.optional
    ),
    json: jsonFlag
  },
  ({ name, environment, server, namePrefix, json }) =>
    Effect.gen(function*() {
      const provisioning = yield* Provisioning
      // The step callback runs inside the service: it gets our Stdio with it.
      const onTerminal = !json && (yield* stderrIsTerminal)
      const stdio = yield* Stdio.Stdio
      const result = yield* provisioning.provision(
        {
          name,
          environment,
          ...Option.match(server, { onNone: () => ({}), onSome: (server) => ({ server }) }),
          ...Option.match(namePrefix, { onNone: () => ({}), onSome: (namePrefix) => ({ namePrefix }) })
        },
        onTerminal ? { onStep: stepPrinter(stdio) } : {}
      )
      if (json) return yield* printJson(ProvisionedView, result)
      yield* Console.log(
        renderRecord([
          ["tenant", `${result.tenant.name} (${result.tenant.tenantId})`],
          ["status", result.tenant.status],
          ["server", result.server.name],
          ["database", `${result.database.databaseName} (${result.database.id})`],
          ["version", result.version ?? "not migrated by this run"],
          [
            "steps",
            result.ran.length === 0
              ? "none: already provisioned"
              : `${result.ran.join(", ")}${result.resumed ? " (resumed)" : ""}`
          ]
        ])
      )
    })
).pipe(
  Command.withDescription(
    "Provision a tenant: create it (pending), place it on the least-loaded open server (or --server), create a role with a generated password and a database it owns (CONNECT revoked from PUBLIC), register the encrypted connection string, apply the tenant template's migrations (tenant/migrations), run its seeds, then mark the database and the tenant active. Every step is recorded; if one fails, the database is left `error` with the step and the reason, and running the same command again resumes there."
  ),
  Command.withShortDescription("Provision a tenant and its database (idempotent, resumable).")
)
