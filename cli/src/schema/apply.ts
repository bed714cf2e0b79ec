/**
 * The two ways to bring a database to the state schema.hcl describes.
 *
 * Declarative (`applyDesiredState`): the engine plans the difference between
 * the live database and schema.hcl on a scratch dev database and applies it
 * (schema, enums and tables in one plan; a database holding none of
 * schema.hcl's schemas needs no dev database, there being nothing to compare
 * with); then the routines (function and triggers of routines.hcl) and the
 * seeds, which are idempotent, run on top, together in one transaction, while
 * the dev database is dropped.
 *
 * Versioned (`applyMigrations`): the engine replays the reviewed files of
 * migrations/ that the database has not seen yet, recording each in
 * atlas_schema_revisions. This is the path for production: what runs is
 * exactly what was linted and reviewed.
 */
import { Effect, Exit, FileSystem, type Redacted, Schema, Scope } from "effect"
import path from "node:path"
import { Change, Engine, type EngineError, type MigrationsApplied } from "../engine/Engine.ts"
import { runScript } from "./postgres.ts"
import { SchemaProject } from "./Project.ts"
import { renderRoutines, type Routines, type RoutinesInvalid } from "./routines.ts"
import { ScratchDatabase } from "./ScratchDatabase.ts"

/**
 * The function and triggers of the project's routines.hcl (the control
 * plane's, or the tenant template's with --config tenant/atlas.hcl),
 * rendered; the schema engine reads the HCL. A broken routines.hcl fails
 * here: an EngineError (SchemaInvalid, naming file and line, as for a
 * schema.hcl syntax error the renderer meets first) for its syntax,
 * RoutinesInvalid for blocks the renderer cannot use.
 */
export const projectRoutines: Effect.Effect<Routines, RoutinesInvalid | EngineError, Engine | SchemaProject | FileSystem.FileSystem> = Effect.flatMap(
  SchemaProject,
  (project) => renderRoutines(project.root)
)

export interface Seed {
  readonly name: string
  readonly sql: string
}

/** The seed files of the project, in name order. */
export const projectSeeds = Effect.gen(function*() {
  const project = yield* SchemaProject
  const fs = yield* FileSystem.FileSystem
  const names = (yield* fs.readDirectory(project.seeds)).filter((name) => name.endsWith(".sql")).sort()
  return yield* Effect.forEach(names, (name) =>
    Effect.map(fs.readFileString(path.join(project.seeds, name)), (sql): Seed => ({ name, sql })))
})

/** What a run of the declarative path did. */
export const ApplyReport = Schema.Struct({
  /** The statements the engine planned and applied; empty when the schema was in the desired state. */
  changes: Schema.Array(Change),
  /** The functions and triggers (re)created. */
  routines: Schema.Array(Schema.String),
  /** The seed files run. */
  seeds: Schema.Array(Schema.String)
})
export type ApplyReport = typeof ApplyReport.Type

export const applyDesiredState = Effect.fn("applyDesiredState")(function*(url: Redacted.Redacted<string>) {
  const project = yield* SchemaProject
  const engine = yield* Engine
  const scratch = yield* ScratchDatabase
  return yield* Effect.scoped(
    Effect.gen(function*() {
      // The dev database has a scope of its own, so that it is dropped while the
      // routines and seeds run; and at the latest when this scope closes (a
      // failure, Ctrl-C), as a child of it.
      const devScope = yield* Scope.fork(yield* Scope.Scope)
      // The routines are rendered (the engine reads the HCL) before anything is
      // written: a broken routines.hcl writes nothing.
      const [routines, seeds] = yield* Effect.all([projectRoutines, projectSeeds], { concurrency: "unbounded" })
      // A database that holds none of schema.hcl's schemas (a new one) is planned
      // without a dev database, which would cost more than the rest of the path;
      // any other gets one.
      const plan = yield* engine.schemaApply(project, { url }).pipe(
        Effect.catchIf(
          (error) => error.reason === "DevDatabaseNeeded",
          () =>
            Effect.flatMap(
              scratch.make("cp_apply_dev").pipe(Scope.provide(devScope)),
              (dev) => engine.schemaApply(project, { url, devUrl: dev.url })
            )
        )
      )
      yield* Effect.all(
        [
          // Uninterruptible: a failing script waits for the drop rather than cutting it short.
          Effect.uninterruptible(Scope.close(devScope, Exit.void)),
          runScript(url, [routines.sql, ...seeds.map((seed) => seed.sql)].join("\n"))
        ],
        { concurrency: "unbounded" }
      )
      const report: ApplyReport = {
        changes: plan.changes,
        routines: [...routines.functions, ...routines.triggers.map((trigger) => trigger.name)],
        seeds: seeds.map((seed) => seed.name)
      }
      return report
    })
  )
})

export const applyMigrations = Effect.fn("applyMigrations")(function*(url: Redacted.Redacted<string>) {
  const project = yield* SchemaProject
  const engine = yield* Engine
  const applied: MigrationsApplied = yield* engine.migrateApply(project, { url })
  return applied
})
