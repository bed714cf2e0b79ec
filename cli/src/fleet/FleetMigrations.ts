/**
 * Fleet migrations: the tenant template's pending migrations applied to every
 * tenant database, with bounded concurrency, canaries, a failure limit and a
 * ledger (control_plane.fleet_runs, control_plane.fleet_migrations).
 *
 * A run starts by writing its ledger: one row per database it will migrate
 * (active, or left migrating or error by an earlier run; not those whose
 * provisioning is unfinished, which provisioning itself migrates), in queue
 * order: canaries first, then by environment (development, staging,
 * production) and age. Workers take the next row as they come free (a
 * work-stealing queue, so a slow database holds up one worker, not a chunk).
 * For each database:
 *
 *   1. a permit from the connection budget (the engine's one connection);
 *   2. the ledger row `running` and the database `migrating`, in one statement;
 *   3. the schema engine takes its advisory lock on the database and reads its
 *      revision table: the version before, recorded before anything is applied;
 *   4. the pending migrations applied by the engine, on that same connection;
 *   5. the ledger row `succeeded` with the version after and the database
 *      `active`, in one statement; or `failed` with the error in one line (and
 *      the version the database is at after the failure) and the database `error`.
 *
 * The engine is one process for the whole run (TenantSchema.session, the
 * engine's `migrate serve`), not one or two per database: a database costs
 * one request to it, one connection and one lock, so concurrency overlaps the
 * waiting (commits, round trips) instead of starting processes.
 *
 * Canaries (`canary` K) go first; the rest are taken only if every canary
 * succeeded. After `maxFailures` failures no new database is taken. Databases
 * not taken are settled `skipped` with the reason, so a finished run's ledger
 * has a final row for every database.
 *
 * A run killed at any point (SIGKILL included) stays `running`; the next
 * `migrate` resumes it: rows still pending or running are taken again. No
 * version is applied twice and none is skipped, because what is applied is
 * decided by each database's own revision table (the engine applies exactly
 * the files it lacks, under its advisory lock), not by the ledger; the ledger
 * records what the revision table said before and after.
 *
 * One run at a time: the run holds an advisory lock on the control plane for
 * its whole length (released by PostgreSQL if the process dies).
 *
 * Both need an Actor: a run reveals connection strings through
 * TenantDatabases, and writes its ledger and the status moves as the actor
 * (actorContext), for the audit trail. `status` reveals too.
 */
import { Context, Effect, Layer, Schema } from "effect"
import {
  Actor,
  actorContext,
  ControlPlane,
  Db,
  type DbError,
  type FleetMigrationStatus,
  type FleetRunStatus,
  type IllegalTransition,
  InvalidInput,
  type Rows,
  sql,
  TenantDatabases,
  transitionRefusal
} from "../library.ts"
import { ControlPlaneLocks } from "./advisoryLock.ts"
import { ConnectionBudget } from "./ConnectionBudget.ts"
import { FleetRunInProgress, oneLineReason } from "./errors.ts"
import { type TemplateSession, TenantSchema } from "./TenantSchema.ts"

/** The largest count fleet_runs can hold: its columns are `integer`. */
const maxCount = 2_147_483_647

/** Options of `migrate`. */
export const FleetMigrateOptions = Schema.Struct({
  /** Databases migrated at once (1 to 64, default 4). */
  concurrency: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 64 }))),
  /** Databases migrated first; the rest only if all of them succeed (default 0). */
  canary: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: maxCount }))),
  /** Failures after which no new database is taken (default: no limit). */
  maxFailures: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: maxCount })))
})
export type FleetMigrateOptions = typeof FleetMigrateOptions.Encoded

export const defaultConcurrency = 4

/** Where a run stands; counts are of the run's databases. */
export interface FleetProgress {
  readonly total: number
  readonly succeeded: number
  readonly failed: number
  readonly skipped: number
  readonly running: number
}

export interface FleetFailure {
  readonly databaseId: string
  readonly tenantId: string
  readonly tenant: string | null
  readonly status: "failed" | "skipped"
  readonly error: string
}

/** A run as the ledger records it. */
export interface FleetRunSummary {
  readonly runId: string
  readonly status: FleetRunStatus
  /** Whether this call resumed a run that an earlier, interrupted call had started. */
  readonly resumed: boolean
  readonly targetVersion: string
  readonly total: number
  readonly succeeded: number
  readonly failed: number
  readonly skipped: number
  /** Migration files applied across the run's databases. */
  readonly applied: number
  readonly startedAt: Date
  readonly finishedAt: Date | null
  /** Failed and skipped databases, in queue order. */
  readonly failures: ReadonlyArray<FleetFailure>
}

export interface FleetDatabaseVersion {
  readonly databaseId: string
  readonly tenantId: string
  readonly tenant: string
  readonly status: string
  /** The newest version its revision table holds ("" for none); null when it was not read (inactive, or unreachable). */
  readonly version: string | null
  /** Template versions it lacks; null when not read. */
  readonly pending: number | null
  /** Why the version could not be read. */
  readonly error: string | null
}

export interface FleetStatus {
  /** The newest version of the tenant template. */
  readonly targetVersion: string
  readonly databases: ReadonlyArray<FleetDatabaseVersion>
  /** How many databases are at each version (unread ones under "unknown"). */
  readonly versions: ReadonlyArray<{ readonly version: string; readonly databases: number }>
  readonly lastRun: FleetRunSummary | null
}

export interface FleetMigrateCallbacks {
  /** Called when the run starts and after each database is settled, e.g. for a progress bar. */
  readonly onProgress?: (progress: FleetProgress) => Effect.Effect<void>
}

export interface FleetMigrationsService {
  /** Starts a run, or resumes the unfinished one, and runs it to its end. */
  readonly migrate: (
    options?: FleetMigrateOptions,
    callbacks?: FleetMigrateCallbacks
  ) => Effect.Effect<FleetRunSummary, FleetRunInProgress | InvalidInput | DbError, Actor>
  /** The versions across the fleet (read from each database's revision table) and the last run. */
  readonly status: (options?: { readonly concurrency?: number }) => Effect.Effect<FleetStatus, InvalidInput | DbError, Actor>
}

type RunRow = Rows.FleetRuns
type LedgerRow = Rows.FleetMigrations

const decodeOptions = Schema.decodeUnknownEffect(FleetMigrateOptions)

/** Options of `status`: how many revision tables are read at once. */
const FleetStatusOptions = Schema.Struct({ concurrency: FleetMigrateOptions.fields.concurrency })
const decodeStatusOptions = Schema.decodeUnknownEffect(FleetStatusOptions)

const fleetLock = "control-plane:fleet-migrate"

const messageOf = (error: unknown): string => oneLineReason(error instanceof Error ? error.message : String(error))

export class FleetMigrations extends Context.Service<FleetMigrations, FleetMigrationsService>()(
  "control-plane-cli/FleetMigrations"
) {
  static readonly layerNoDeps = Layer.effect(
    FleetMigrations,
    Effect.gen(function*() {
      const db = yield* Db
      const databases = yield* TenantDatabases
      const template = yield* TenantSchema
      const budget = yield* ConnectionBudget
      const locks = yield* ControlPlaneLocks

      /**
       * Writes the database's ledger row and moves the database to `status`, in
       * one statement: one round trip, where a transaction of the two took four,
       * and the audit trail's append lock (taken by the status change's audit
       * row) held for one statement. The move is TenantDatabases.setStatus's own
       * UPDATE: the lifecycle trigger refuses what it must (IllegalTransition,
       * and nothing is written), the audit trigger records it as the actor. If
       * the database was removed meanwhile there is nothing to move; the ledger
       * row is still written.
       */
      const settle = (runId: string, databaseId: string, ledger: ReturnType<typeof sql>, status: "migrating" | "active" | "error") =>
        write((audit) =>
          sql`WITH ledger AS (
                UPDATE control_plane.fleet_migrations SET ${ledger}
                FROM ${audit} WHERE run_id = ${runId} AND database_id = ${databaseId}
              )
              UPDATE control_plane.tenant_databases SET status = ${status}, updated_at = now()
              FROM ${audit} WHERE id = ${databaseId}`
        ).pipe(Effect.mapError(transitionRefusal))

      /** An outcome of a database that the lifecycle refused to move: recorded as the refusal's one line. */
      const refused = (runId: string, databaseId: string, status: "failed" | "skipped") => (error: IllegalTransition) =>
        Effect.as(
          setLedger(runId, databaseId, sql`status = ${status}, finished_at = now(), error = ${messageOf(error)}`),
          status
        )

      /** Files of the template in (before, after]: what a database went through. */
      const filesBetween = (before: string, after: string): number =>
        template.versions.filter((version) => version > before && version <= after).length

      /** Opens a new run with its ledger, in one transaction. */
      const startRun = (concurrency: number, canary: number, maxFailures: number | undefined) =>
        db.transaction(Effect.gen(function*() {
          const audit = actorContext(yield* Actor)
          const [run] = yield* db.query<RunRow>(
            sql`INSERT INTO control_plane.fleet_runs (status, target_version, concurrency, canary, max_failures)
                SELECT 'running', ${template.latest}, ${concurrency}::integer, ${canary}::integer, ${maxFailures ?? null}::integer
                FROM ${audit} RETURNING fleet_runs.*`
          )
          // The queue: every tenant database worth migrating, oldest environments first.
          yield* db.query(
            sql`INSERT INTO control_plane.fleet_migrations (run_id, database_id, tenant_id, position, canary, status)
                SELECT ${run!.id}, q.id, q.tenant_id, q.position, q.position < ${canary}, 'pending'
                FROM (
                  SELECT d.id, d.tenant_id,
                         (row_number() OVER (ORDER BY t.environment, t.created_at, d.created_at, d.id) - 1)::int AS position
                  FROM control_plane.tenant_databases d
                  JOIN control_plane.tenants t ON t.tenant_id = d.tenant_id
                  LEFT JOIN control_plane.tenant_provisioning p ON p.database_id = d.id
                  WHERE d.status IN ('active', 'migrating', 'error')
                    AND (p.tenant_id IS NULL OR (p.completed_at IS NOT NULL AND p.deprovision_started_at IS NULL))
                ) q, ${audit}`
          )
          return run!
        }))

      /** Writes the run's records as the actor (the audit trail's context, as the library's writes do). */
      const write = <Row = Record<string, unknown>>(statement: (audit: ReturnType<typeof actorContext>) => ReturnType<typeof sql>) =>
        Effect.flatMap(Actor, (actor) => db.query<Row>(statement(actorContext(actor))))

      const setLedger = (runId: string, databaseId: string, assignment: ReturnType<typeof sql>) =>
        write((audit) =>
          sql`UPDATE control_plane.fleet_migrations SET ${assignment}
              FROM ${audit} WHERE run_id = ${runId} AND database_id = ${databaseId}`
        )

      /** Takes one database through the steps above; never fails (failures are recorded). */
      const migrateOne = (runId: string, row: LedgerRow, engine: TemplateSession) =>
        Effect.gen(function*() {
          // The engine works on one connection per database: its lock's, which also runs the migrations.
          const granted = yield* budget.permit(row.tenant_id, 1).pipe(
            Effect.as(true),
            Effect.catchTag("ConnectionBudgetExhausted", (error) =>
              Effect.as(setLedger(runId, row.database_id, sql`status = 'failed', finished_at = now(), error = ${messageOf(error)}`), false))
          )
          if (!granted) return "failed" as const
          const database = yield* databases.get(row.database_id).pipe(
            Effect.catchTag("TenantDatabaseNotFound", () => Effect.succeed(undefined)),
            Effect.catchTag("InvalidInput", (error) => Effect.die(error))
          )
          if (database === undefined || database.status === "inactive") {
            const reason = database === undefined
              ? "not migrated: the database was removed after the run started"
              : "not migrated: the database was made inactive after the run started"
            yield* setLedger(runId, row.database_id, sql`status = 'skipped', finished_at = now(), error = ${reason}`)
            return "skipped" as const
          }
          // A database whose status cannot move to migrating (the lifecycle says so) is not worked on.
          const running = sql`status = 'running', attempts = attempts + 1, started_at = coalesce(started_at, now())`
          const started = yield* (database.status === "migrating"
            ? setLedger(runId, row.database_id, running)
            : settle(runId, row.database_id, running, "migrating")).pipe(
              Effect.as("started" as const),
              Effect.catchTag("IllegalTransition", refused(runId, row.database_id, "skipped"))
            )
          if (started === "skipped") return "skipped" as const
          let before = row.version_before
          const outcome = yield* Effect.gen(function*() {
            const url = yield* databases.reveal(database.id)
            // The engine reads the revision table under its lock and waits for this before it applies anything.
            const applied = yield* engine.migrate(url, (state) => {
              if (before !== null) return Effect.void
              before = state.current
              // Recorded before anything is applied, so that a run killed during the apply resumes with the true
              // version before; with nothing to apply, the final write records it.
              return state.pending.length === 0
                ? Effect.void
                : Effect.asVoid(setLedger(runId, row.database_id, sql`version_before = ${before}`))
            })
            return applied.current
          }).pipe(Effect.result)

          if (outcome._tag === "Success") {
            return yield* settle(
              runId,
              row.database_id,
              sql`status = 'succeeded', version_before = coalesce(version_before, ${before}), version_after = ${outcome.success},
                  finished_at = now(), error = NULL, applied = ${filesBetween(before ?? "", outcome.success)}`,
              "active"
            ).pipe(Effect.as("succeeded" as const), Effect.catchTag("IllegalTransition", refused(runId, row.database_id, "failed")))
          }
          // Where the failure left the database, if it can still be read: the revision table is the truth.
          const after = yield* databases.reveal(database.id).pipe(
            Effect.flatMap((url) => engine.status(url)),
            Effect.map((state) => state.current),
            Effect.orElseSucceed(() => null)
          )
          const record = sql`status = 'failed', version_before = coalesce(version_before, ${before}), version_after = ${after},
                  finished_at = now(), error = ${messageOf(outcome.failure)},
                  applied = ${after === null ? 0 : filesBetween(before ?? "", after)}`
          yield* settle(runId, row.database_id, record, "error").pipe(
            // Someone moved the database meanwhile so that error is not a move from there: the ledger still records the failure.
            Effect.catchTag("IllegalTransition", () => setLedger(runId, row.database_id, record))
          )
          return "failed" as const
        }).pipe(Effect.scoped)

      const progressOf = (runId: string) =>
        db.query<{ status: FleetMigrationStatus; n: bigint }>(
          sql`SELECT status, count(*) AS n FROM control_plane.fleet_migrations WHERE run_id = ${runId} GROUP BY status`
        ).pipe(Effect.map((rows): FleetProgress => {
          const count = (status: FleetMigrationStatus) => Number(rows.find((r) => r.status === status)?.n ?? 0n)
          return {
            total: rows.reduce((sum, r) => sum + Number(r.n), 0),
            succeeded: count("succeeded"),
            failed: count("failed"),
            skipped: count("skipped"),
            running: count("running")
          }
        }))

      const unsettled = (runId: string, canaries: boolean) =>
        db.query<LedgerRow>(
          sql`SELECT * FROM control_plane.fleet_migrations
              WHERE run_id = ${runId} AND canary = ${canaries} AND status IN ('pending', 'running')
              ORDER BY position`
        )

      /**
       * Works through `queue` with `concurrency` workers, each taking the next
       * row when it comes free, until the queue is empty or `stop()` says no
       * more may be taken.
       */
      const drain = (
        runId: string,
        queue: ReadonlyArray<LedgerRow>,
        concurrency: number,
        stop: () => boolean,
        onSettled: (outcome: "succeeded" | "failed" | "skipped") => Effect.Effect<void, DbError>,
        engine: TemplateSession
      ) => {
        let next = 0
        const worker: Effect.Effect<void, DbError, Actor> = Effect.suspend(() => {
          if (next >= queue.length || stop()) return Effect.void
          const row = queue[next++]!
          return migrateOne(runId, row, engine).pipe(Effect.flatMap(onSettled), Effect.andThen(worker))
        })
        const workers = Math.max(1, Math.min(concurrency, queue.length))
        return Effect.all(Array.from({ length: workers }, () => worker), { concurrency: "unbounded", discard: true })
      }

      const skipRemaining = (runId: string, reason: string) =>
        write((audit) =>
          sql`UPDATE control_plane.fleet_migrations SET status = 'skipped', finished_at = now(), error = ${reason}
              FROM ${audit} WHERE run_id = ${runId} AND status IN ('pending', 'running')`
        )

      const summaryOf = (run: RunRow, resumed: boolean) =>
        Effect.gen(function*() {
          const rows = yield* db.query<LedgerRow & { tenant: string | null }>(
            sql`SELECT l.*, t.name AS tenant FROM control_plane.fleet_migrations l
                LEFT JOIN control_plane.tenants t ON t.tenant_id = l.tenant_id
                WHERE l.run_id = ${run.id} ORDER BY l.position`
          )
          const count = (status: FleetMigrationStatus) => rows.filter((r) => r.status === status).length
          return {
            runId: run.id,
            status: run.status,
            resumed,
            targetVersion: run.target_version,
            total: rows.length,
            succeeded: count("succeeded"),
            failed: count("failed"),
            skipped: count("skipped"),
            applied: rows.reduce((sum, r) => sum + r.applied, 0),
            startedAt: run.started_at,
            finishedAt: run.finished_at,
            failures: rows.flatMap((r): ReadonlyArray<FleetFailure> =>
              r.status === "failed" || r.status === "skipped"
                ? [{ databaseId: r.database_id, tenantId: r.tenant_id, tenant: r.tenant, status: r.status, error: r.error ?? "" }]
                : []
            )
          } satisfies FleetRunSummary
        })

      const migrate = Effect.fn("FleetMigrations.migrate")(function*(
        raw: FleetMigrateOptions = {},
        callbacks: FleetMigrateCallbacks = {}
      ) {
        const options = yield* decodeOptions(raw, { errors: "all" }).pipe(
          Effect.mapError((error) => new InvalidInput({ message: `Invalid fleet migration options: ${error.message}` }))
        )
        const concurrency = options.concurrency ?? defaultConcurrency
        const onProgress = callbacks.onProgress ?? (() => Effect.void)
        if (!(yield* locks.hold(fleetLock))) {
          return yield* new FleetRunInProgress({})
        }

        // An unfinished run is one whose process died: resume it, with its own canary and failure limit.
        const [unfinished] = yield* db.query<RunRow>(
          sql`SELECT * FROM control_plane.fleet_runs WHERE status = 'running' ORDER BY started_at DESC LIMIT 1`
        )
        const resumed = unfinished !== undefined
        const run = unfinished === undefined
          ? yield* startRun(concurrency, options.canary ?? 0, options.maxFailures)
          : unfinished
        if (resumed) {
          yield* write((audit) =>
            sql`UPDATE control_plane.fleet_runs SET concurrency = ${concurrency} FROM ${audit} WHERE id = ${run.id}`
          )
        }
        yield* Effect.logInfo(resumed ? "Resuming a fleet migration run" : "Started a fleet migration run").pipe(
          Effect.annotateLogs({ runId: run.id, targetVersion: run.target_version, concurrency })
        )

        let progress = yield* progressOf(run.id)
        yield* onProgress(progress)
        const onSettled = (outcome: "succeeded" | "failed" | "skipped") =>
          Effect.suspend(() => {
            progress = {
              ...progress,
              [outcome]: progress[outcome] + 1
            }
            return onProgress(progress)
          })
        const limitReached = () => run.max_failures !== null && progress.failed >= run.max_failures

        // One engine process for the whole run, not one or two per database.
        const engine = yield* template.session

        // Canaries first: the rest only if every one of them succeeded.
        yield* drain(run.id, yield* unsettled(run.id, true), concurrency, limitReached, onSettled, engine)
        const [canaryFailures] = yield* db.query<{ n: bigint }>(
          sql`SELECT count(*) AS n FROM control_plane.fleet_migrations
              WHERE run_id = ${run.id} AND canary AND status <> 'succeeded'`
        )
        let status: FleetRunStatus
        if (Number(canaryFailures!.n) > 0) {
          yield* skipRemaining(run.id, "not migrated: a canary failed")
          status = "canary_failed"
        } else {
          yield* drain(run.id, yield* unsettled(run.id, false), concurrency, limitReached, onSettled, engine)
          if (limitReached()) {
            yield* skipRemaining(run.id, `not migrated: the run stopped after ${run.max_failures} failures`)
          }
          const final = yield* progressOf(run.id)
          status = final.skipped > 0 && limitReached() ? "stopped" : final.failed > 0 ? "failed" : "succeeded"
        }
        const [finished] = yield* write<RunRow>((audit) =>
          sql`UPDATE control_plane.fleet_runs SET status = ${status}, finished_at = now()
              FROM ${audit} WHERE id = ${run.id} RETURNING fleet_runs.*`
        )
        progress = yield* progressOf(run.id)
        yield* onProgress(progress)
        const summary = yield* summaryOf(finished!, resumed)
        yield* Effect.logInfo("Finished a fleet migration run").pipe(
          Effect.annotateLogs({ runId: run.id, status, succeeded: summary.succeeded, failed: summary.failed, skipped: summary.skipped })
        )
        return summary
      }, Effect.scoped)

      const status = Effect.fn("FleetMigrations.status")(function*(raw: { readonly concurrency?: number } = {}) {
        const options = yield* decodeStatusOptions(raw, { errors: "all" }).pipe(
          Effect.mapError((error) => new InvalidInput({ message: `Invalid fleet status options: ${error.message}` }))
        )
        const concurrency = options.concurrency ?? defaultConcurrency
        const rows = yield* db.query<{ id: string; tenant_id: string; tenant: string; status: string }>(
          sql`SELECT d.id, d.tenant_id, t.name AS tenant, d.status::text AS status
              FROM control_plane.tenant_databases d JOIN control_plane.tenants t ON t.tenant_id = d.tenant_id
              ORDER BY t.environment, t.created_at, d.created_at, d.id`
        )
        const engine = yield* template.session
        const read = (row: (typeof rows)[number]): Effect.Effect<FleetDatabaseVersion, never, Actor> => {
          const base = { databaseId: row.id, tenantId: row.tenant_id, tenant: row.tenant, status: row.status }
          if (row.status === "inactive") return Effect.succeed({ ...base, version: null, pending: null, error: "inactive: not read" })
          return Effect.gen(function*() {
            yield* budget.permit(row.tenant_id, 1)
            const state = yield* engine.status(yield* databases.reveal(row.id))
            return { ...base, version: state.current, pending: state.pending.length, error: null }
          }).pipe(
            Effect.scoped,
            Effect.catch((error) => Effect.succeed({ ...base, version: null, pending: null, error: messageOf(error) }))
          )
        }
        const versions = yield* Effect.forEach(rows, read, { concurrency })
        const counts = new Map<string, number>()
        for (const row of versions) {
          const key = row.version === null ? "unknown" : row.version === "" ? "none" : row.version
          counts.set(key, (counts.get(key) ?? 0) + 1)
        }
        const [last] = yield* db.query<RunRow>(
          sql`SELECT * FROM control_plane.fleet_runs ORDER BY started_at DESC LIMIT 1`
        )
        return {
          targetVersion: template.latest,
          databases: versions,
          versions: [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([version, n]) => ({ version, databases: n })),
          lastRun: last === undefined ? null : yield* summaryOf(last, false)
        }
      }, Effect.scoped)

      return FleetMigrations.of({ migrate, status })
    })
  )

  /** FleetMigrations configured from the environment (as Provisioning.layer). */
  static readonly layer = FleetMigrations.layerNoDeps.pipe(
    Layer.provideMerge(Layer.mergeAll(TenantSchema.layer, ConnectionBudget.layerNoDeps, ControlPlaneLocks.layer)),
    Layer.provideMerge(ControlPlane.layer)
  )
}
