/** What the servers commands share: how a server is named on the command line and how one is printed. */
import { Console, Effect, Schema } from "effect"
import { Argument } from "effect/cli"
import { DatabaseServer, DatabaseServers } from "../../library.ts"
import { type Column, formatDate, printJson, renderRecord } from "../../output.ts"

/** `<server>`: a server's name or id. */
export const serverArgument = Argument.String("server").pipe(
  Argument.withDescription("The database server: its name or its id (a UUID).")
)

const isUuid = Schema.is(Schema.String.check(Schema.isUUID()))

/** Finds the server an operator named: by id when the text is a UUID, else by name. */
export const resolveServer = (reference: string) =>
  DatabaseServers.use((servers) => (isUuid(reference) ? servers.get(reference) : servers.findByName(reference)))

export const serverColumns: ReadonlyArray<Column<DatabaseServer>> = [
  { header: "NAME", value: (s) => s.name },
  { header: "HOST", value: (s) => `${s.host}:${s.port}` },
  { header: "STATUS", value: (s) => s.status },
  { header: "DATABASES", value: (s) => `${s.databases}/${s.maxDatabases}` },
  { header: "KEY", value: (s) => s.keyId ?? "?" },
  { header: "ID", value: (s) => s.id }
]

/** One server, as `field: value` lines or JSON (never its admin connection string: the record holds none). */
export const printServer = (server: DatabaseServer, json: boolean): Effect.Effect<void> =>
  json
    ? printJson(DatabaseServer, server)
    : Console.log(
      renderRecord([
        ["id", server.id],
        ["name", server.name],
        ["host", server.host],
        ["port", String(server.port)],
        ["status", server.status],
        ["databases", `${server.databases} of at most ${server.maxDatabases}`],
        ["key", server.keyId ?? "unreadable envelope"],
        ["created", formatDate(server.createdAt)],
        ["updated", formatDate(server.updatedAt)]
      ])
    )
