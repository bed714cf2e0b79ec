/**
 * `databases register --tenant <tenant>`: stores a tenant database with its
 * connection string encrypted. The string comes from stdin (or a hidden
 * prompt on a terminal) or from the environment variable --from-env names;
 * there is deliberately no flag or argument for it.
 */
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { databaseStatuses } from "../../library.ts"
import { TenantDatabases } from "../../library.ts"
import { UsageError } from "../../failure.ts"
import { jsonFlag } from "../../output.ts"
import { resolveTenant } from "../tenants/shared.ts"
import { describeConnectionString, readConnectionString } from "./connectionInput.ts"
import { printDatabase, tenantFlag } from "./shared.ts"

const optionalField = <K extends string, A>(key: K, value: A | undefined): { readonly [P in K]?: A } =>
  (value === undefined ? {} : { [key]: value }) as { readonly [P in K]?: A }

export const commandDatabasesRegister = Command.make(
  "register",
  {
    tenant: tenantFlag,
    fromEnv: Flag.String("from-env").pipe(
      Flag.withMetavar("VAR"),
      Flag.withDescription("Read the connection string from this environment variable instead of stdin."),
      Flag.optional
    ),
    databaseName: Flag.String("database-name").pipe(
      Flag.withDescription("The database's name on its server (default: read from the connection string)."),
      Flag.optional
    ),
    host: Flag.String("host").pipe(
      Flag.withDescription("The server's host (default: read from the connection string)."),
      Flag.optional
    ),
    port: Flag.Int("port").pipe(
      Flag.withDescription("The server's port (default: from the connection string, else 5432)."),
      Flag.optional
    ),
    status: Flag.Literals("status", databaseStatuses).pipe(
      Flag.withDescription("Its status to begin with (default: inactive, until someone marks it active)."),
      Flag.optional
    ),
    json: jsonFlag,
    quiet: Flag.Boolean("quiet").pipe(
      Flag.withAlias("q"),
      Flag.withDescription("Print only the new record's id, e.g. for DB=$(control-plane databases register ... --quiet)."),
      Flag.withDefault(false)
    )
  },
  (flags) =>
    Effect.gen(function*() {
      if (flags.quiet && flags.json) {
        return yield* new UsageError({ message: "--quiet prints only the new id and --json the whole record: pass one of them" })
      }
      const tenant = yield* resolveTenant(flags.tenant)
      const connectionString = yield* readConnectionString(flags.fromEnv)
      const target = describeConnectionString(connectionString)
      if (target === undefined) {
        return yield* new UsageError({
          message: "the connection string is neither a PostgreSQL URL nor libpq key=value pairs"
        })
      }
      const host = Option.getOrUndefined(flags.host) ?? target.host
      const databaseName = Option.getOrUndefined(flags.databaseName) ?? target.database
      if (host === undefined) {
        return yield* new UsageError({ message: "the connection string names no host: pass --host" })
      }
      if (databaseName === undefined) {
        return yield* new UsageError({ message: "the connection string names no database: pass --database-name" })
      }
      const database = yield* (yield* TenantDatabases).register({
        tenantId: tenant.tenantId,
        connectionString,
        databaseName,
        host,
        ...optionalField("port", Option.getOrUndefined(flags.port) ?? target.port),
        ...optionalField("status", Option.getOrUndefined(flags.status))
      })
      yield* flags.quiet ? Console.log(database.id) : printDatabase(database, flags.json)
    })
).pipe(
  Command.withDescription(
    "Register a tenant's database. The connection string is read from stdin (a hidden prompt on a terminal) or from the environment variable named by --from-env, never from an argument, since arguments end up in shell history and process listings; it is encrypted under the primary key before it is stored. Host, port and database name are read from it unless given. Examples: `printf %s \"$URL\" | control-plane databases register --tenant acme`, `control-plane databases register --tenant acme --from-env ACME_DATABASE_URL`."
  ),
  Command.withShortDescription("Register a tenant database (connection string from stdin or --from-env).")
)
