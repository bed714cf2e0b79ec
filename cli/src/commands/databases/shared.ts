/** What the databases commands share: the id argument, the --tenant flag and how a record is printed. */
import { Console, Effect } from "effect"
import { Argument, Flag } from "effect/cli"
import { TenantDatabase } from "../../library.ts"
import { type Column, formatDate, printJson, renderRecord } from "../../output.ts"

/** `<id>`: a tenant database record's id. */
export const databaseIdArgument = Argument.String("id").pipe(
  Argument.withDescription("The tenant database record's id (a UUID, as `databases list` shows).")
)

/** `--tenant`: the tenant, by id or name. */
export const tenantFlag = Flag.String("tenant").pipe(
  Flag.withAlias("t"),
  Flag.withDescription("The tenant: its id (a UUID) or its name.")
)

export const databaseColumns: ReadonlyArray<Column<TenantDatabase>> = [
  { header: "ID", value: (d) => d.id },
  { header: "DATABASE", value: (d) => d.databaseName },
  { header: "HOST", value: (d) => `${d.host}:${d.port}` },
  { header: "STATUS", value: (d) => d.status },
  { header: "KEY", value: (d) => d.keyId ?? "?" },
  { header: "CREATED", value: (d) => formatDate(d.createdAt) }
]

export const printDatabase = (database: TenantDatabase, json: boolean): Effect.Effect<void> =>
  json
    ? printJson(TenantDatabase, database)
    : Console.log(
      renderRecord([
        ["id", database.id],
        ["tenant", database.tenantId],
        ["database", database.databaseName],
        ["host", database.host],
        ["port", String(database.port)],
        ["status", database.status],
        ["key", database.keyId ?? "unreadable envelope"],
        ["created", formatDate(database.createdAt)],
        ["updated", formatDate(database.updatedAt)]
      ])
    )
