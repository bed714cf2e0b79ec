/**
 * `servers add <name> --max-databases N`: registers a PostgreSQL server that
 * tenant databases may be placed on. Its admin connection string (a role that
 * may create roles and databases) comes from stdin (or a hidden prompt on a
 * terminal) or from the environment variable --from-env names, never from an
 * argument; it is stored encrypted, bound to the server's row.
 */
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { DatabaseServers } from "../../library.ts"
import { UsageError } from "../../failure.ts"
import { jsonFlag } from "../../output.ts"
import { describeConnectionString, readConnectionString } from "../databases/connectionInput.ts"
import { printServer } from "./shared.ts"

export const commandServersAdd = Command.make(
  "add",
  {
    name: Argument.String("name").pipe(
      Argument.withDescription("The server's name: 1 to 63 letters, digits, '.', '_' or '-' (e.g. pg-eu-1).")
    ),
    maxDatabases: Flag.Int("max-databases").pipe(
      Flag.withDescription("The most tenant databases placed on this server.")
    ),
    fromEnv: Flag.String("from-env").pipe(
      Flag.withMetavar("VAR"),
      Flag.withDescription("Read the admin connection string from this environment variable instead of stdin."),
      Flag.optional
    ),
    host: Flag.String("host").pipe(
      Flag.withDescription("The host tenant databases are reached at (default: read from the admin connection string)."),
      Flag.optional
    ),
    port: Flag.Int("port").pipe(
      Flag.withDescription("The port tenant databases are reached at (default: from the admin connection string, else 5432)."),
      Flag.optional
    ),
    json: jsonFlag
  },
  (flags) =>
    Effect.gen(function*() {
      const adminConnectionString = yield* readConnectionString(flags.fromEnv)
      const target = describeConnectionString(adminConnectionString)
      if (target === undefined) {
        return yield* new UsageError({
          message: "the admin connection string is neither a PostgreSQL URL nor libpq key=value pairs"
        })
      }
      const host = Option.getOrUndefined(flags.host) ?? target.host
      if (host === undefined) {
        return yield* new UsageError({ message: "the admin connection string names no host: pass --host" })
      }
      const port = Option.getOrUndefined(flags.port) ?? target.port
      const server = yield* (yield* DatabaseServers).add({
        name: flags.name,
        host,
        ...(port === undefined ? {} : { port }),
        adminConnectionString,
        maxDatabases: flags.maxDatabases
      })
      yield* printServer(server, flags.json)
    })
).pipe(
  Command.withDescription(
    "Register a PostgreSQL server that tenant databases may be placed on (open for new tenants until drained). The admin connection string, of a role that may create roles and databases, is read from stdin (a hidden prompt on a terminal) or from the environment variable named by --from-env, never from an argument, and stored encrypted. Example: `control-plane servers add pg-eu-1 --max-databases 500 --from-env PG_EU_1_ADMIN_URL`."
  ),
  Command.withShortDescription("Register a database server (admin connection string from stdin or --from-env).")
)
