/**
 * `fleet migrate`: the tenant template's pending migrations on every tenant
 * database, a progress bar on a terminal, a summary (or --json) at the end.
 * Exit 1 when any database failed or was not migrated; run it again to retry
 * them, or to resume a run that was interrupted.
 */
import { Effect, Option, Stdio } from "effect"
import { Command, Flag } from "effect/cli"
import { FleetRunIncomplete } from "../../fleet/errors.ts"
import { defaultConcurrency, FleetMigrations, type FleetProgress } from "../../fleet/FleetMigrations.ts"
import { jsonFlag, printJson } from "../../output.ts"
import { stderrIsTerminal } from "../../terminal.ts"
import { FleetRunView } from "../../views.ts"
import { drawBar, endBar } from "../keys/progressBar.ts"
import { printRun } from "./shared.ts"

const optional = <K extends string>(key: K, value: Option.Option<number>): { readonly [P in K]?: number } =>
  Option.match(value, { onNone: () => ({}), onSome: (n) => ({ [key]: n }) }) as { readonly [P in K]?: number }

export const commandFleetMigrate = Command.make(
  "migrate",
  {
    concurrency: Flag.Int("concurrency").pipe(
      Flag.withDescription(`Databases migrated at once, 1 to 64 (default ${defaultConcurrency}).`),
      Flag.optional
    ),
    canary: Flag.Int("canary").pipe(
      Flag.withDescription("Migrate this many databases first (development tenants come first); the rest only if all of them succeed."),
      Flag.optional
    ),
    maxFailures: Flag.Int("max-failures").pipe(
      Flag.withDescription("Stop taking new databases after this many failures (default: no limit)."),
      Flag.optional
    ),
    json: jsonFlag
  },
  ({ concurrency, canary, maxFailures, json }) =>
    Effect.gen(function*() {
      const onTerminal = !json && (yield* stderrIsTerminal)
      // The progress callback runs inside the service: it gets our Stdio with it.
      const stdio = yield* Stdio.Stdio
      let drawn = false
      const summary = yield* (yield* FleetMigrations).migrate(
        { ...optional("concurrency", concurrency), ...optional("canary", canary), ...optional("maxFailures", maxFailures) },
        onTerminal
          ? {
            onProgress: (progress: FleetProgress) => {
              drawn = true
              return drawBar(progress.succeeded + progress.failed + progress.skipped, progress.total).pipe(
                Effect.provideService(Stdio.Stdio, stdio)
              )
            }
          }
          : {}
      ).pipe(Effect.ensuring(Effect.suspend(() => (drawn ? endBar : Effect.void))))
      if (json) yield* printJson(FleetRunView, summary)
      else yield* printRun(summary)
      if (summary.status !== "succeeded") {
        const first = summary.failures.find((f) => f.status === "failed") ?? summary.failures[0]
        return yield* new FleetRunIncomplete({
          runId: summary.runId,
          status: summary.status,
          total: summary.total,
          failed: summary.failed,
          skipped: summary.skipped,
          ...(first === undefined ? {} : { firstFailure: `tenant ${JSON.stringify(first.tenant ?? first.tenantId)}: ${first.error}` })
        })
      }
    })
).pipe(
  Command.withDescription(
    "Apply the tenant template's pending migrations (tenant/migrations) to every active tenant database, and to those an earlier run left migrating or error. Databases are taken from one queue by --concurrency workers, --canary first; after --max-failures failures no new database is taken. Each database is marked migrating while worked on, then active or error, and the run's ledger records its version before and after, status, times and error. A run killed at any point is resumed by running the command again: each database's revision table decides what is applied, so nothing is applied twice or skipped. Exit 1 when any database failed or was not migrated."
  ),
  Command.withShortDescription("Migrate every tenant database (resumable, with a ledger).")
)
