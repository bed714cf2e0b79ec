/** What the fleet commands share: how a run's summary is printed. */
import { Console, Effect } from "effect"
import type { FleetRunSummary } from "../../fleet/FleetMigrations.ts"
import { type Column, formatDate, renderTable } from "../../output.ts"

const failureColumns: ReadonlyArray<Column<FleetRunSummary["failures"][number]>> = [
  { header: "TENANT", value: (f) => f.tenant ?? f.tenantId },
  { header: "DATABASE", value: (f) => f.databaseId },
  { header: "OUTCOME", value: (f) => f.status },
  { header: "ERROR", value: (f) => f.error }
]

/** The run in a few lines: counts, then a table of the databases that failed or were skipped. */
export const renderRun = (run: FleetRunSummary): string => {
  const when = run.finishedAt === null ? `started ${formatDate(run.startedAt)}` : `finished ${formatDate(run.finishedAt)}`
  const lines = [
    `Fleet run ${run.runId}${run.resumed ? " (resumed)" : ""}: ${run.status.replace("_", " ")}, ${when}`,
    `  ${run.total} databases: ${run.succeeded} succeeded, ${run.failed} failed, ${run.skipped} skipped; ` +
    `${run.applied} migration files applied; target version ${run.targetVersion || "none"}`
  ]
  if (run.failures.length > 0) lines.push("", renderTable(failureColumns, run.failures))
  return lines.join("\n")
}

export const printRun = (run: FleetRunSummary): Effect.Effect<void> => Console.log(renderRun(run))
