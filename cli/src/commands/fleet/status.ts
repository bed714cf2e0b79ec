/** `fleet status`: the versions across the fleet, read from each tenant database, and the last run's failures. */
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { FleetMigrations, type FleetStatus } from "../../fleet/FleetMigrations.ts"
import { jsonFlag, printJson, renderTable } from "../../output.ts"
import { FleetStatusView } from "../../views.ts"
import { renderRun } from "./shared.ts"

const render = (status: FleetStatus): string => {
  const lines = [
    `Tenant template at version ${status.targetVersion || "none"}; ${status.databases.length} tenant databases:`,
    "",
    renderTable(
      [
        { header: "VERSION", value: (v: FleetStatus["versions"][number]) => v.version === status.targetVersion ? `${v.version} (current)` : v.version },
        { header: "DATABASES", value: (v) => String(v.databases) }
      ],
      status.versions
    )
  ]
  const unread = status.databases.filter((d) => d.error !== null && d.status !== "inactive")
  if (unread.length > 0) {
    lines.push("", "Not read:", renderTable([
      { header: "TENANT", value: (d: FleetStatus["databases"][number]) => d.tenant },
      { header: "DATABASE", value: (d) => d.databaseId },
      { header: "ERROR", value: (d) => d.error ?? "" }
    ], unread))
  }
  lines.push("", status.lastRun === null ? "No fleet run yet." : `Last run:\n${renderRun(status.lastRun)}`)
  return lines.join("\n")
}

export const commandFleetStatus = Command.make(
  "status",
  {
    concurrency: Flag.Int("concurrency").pipe(
      Flag.withDescription("Databases read at once, 1 to 64 (default 4)."),
      Flag.optional
    ),
    json: jsonFlag
  },
  ({ concurrency, json }) =>
    Effect.gen(function*() {
      const status = yield* (yield* FleetMigrations).status(
        Option.match(concurrency, { onNone: () => ({}), onSome: (n) => ({ concurrency: n }) })
      )
      if (json) return yield* printJson(FleetStatusView, status)
      yield* Console.log(render(status))
    })
).pipe(
  Command.withDescription(
    "Show which version of the tenant template each tenant database is at, read from its own revision table (inactive databases are not read), how many databases are at each version, and the last fleet run with the databases that failed or were skipped."
  ),
  Command.withShortDescription("Versions across the fleet and the last run's failures.")
)
