/**
 * The two ways to bring a database to the state schema.hcl describes.
 *
 * Declarative (`applyDesiredState`): the engine plans the difference between
 * the live database and schema.hcl on a scratch dev database and applies it
 * (schema, enums and tables in one plan); then the routines (function and
 * triggers of routines.hcl) and the seeds, which are idempotent, run on top,
 * together in one transaction.
 *
 * Versioned (`applyMigrations`): the engine replays the reviewed files of
 * migrations/ that the database has not seen yet, recording each in
 * atlas_schema_revisions. This is the path for production: what runs is
 * exactly what was linted and reviewed.
 */
import { Effect, FileSystem, type Redacted, Schema } from "effect"
import path from "node:path"
import { Change, Engine, type MigrationsApplied } from "../engine/Engine.ts"
import { runScript } from "./postgres.ts"
import { SchemaProject } from "./Project.ts"
import type { Routines } from "./routines.ts"
import { ScratchDatabase } from "./ScratchDatabase.ts"

/** routines.hcl could not be read or rendered; the message names what is wrong. */
export class RoutinesInvalid extends Schema.TaggedError<RoutinesInvalid>()("RoutinesInvalid", {
  message: Schema.String
}) {}

/**
 * The function and triggers of the project's routines.hcl (the control
 * plane's, or the tenant template's with --config tenant/atlas.hcl), rendered. The renderer (and its
 * HCL parser, a WebAssembly module) is loaded on first use, so that commands
 * that never render routines do not pay for loading it.
 */
export const projectRoutines: Effect.Effect<Routines, RoutinesInvalid, SchemaProject> = Effect.flatMap(
  SchemaProject,
  (project) =>
    Effect.tryPromise({
      try: async () => (await import("./routines.ts")).renderRoutines(project.root),
      catch: (error) =>
        new RoutinesInvalid({ message: error instanceof Error ? hclErrorLine(error.message) : "routines.hcl could not be rendered" })
    })
)

/**
 * The HCL parser's error (`parse config: [schema.hcl:37,18-19: Argument or
 * block definition required; ...]`) as the engine words its own: `schema.hcl
 * line 37: Argument or block definition required`. Routines are rendered from
 * the project's schema.hcl too, so a syntax error there may surface here first.
 */
const hclErrorLine = (message: string): string => {
  const match = /\[([^\]:]+):(\d+),[\d-]+: ([^;\]]+)/.exec(message)
  return match === null ? message : `${match[1]} line ${match[2]}: ${match[3]}`
}

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
  const { plan, routines, seeds } = yield* Effect.scoped(
    Effect.gen(function*() {
      // The routines are rendered (CPU: the HCL parser) while the dev database is
      // created, and before anything is written: a broken routines.hcl writes nothing.
      const [dev, routines, seeds] = yield* Effect.all([scratch.make("cp_apply_dev"), projectRoutines, projectSeeds], {
        concurrency: "unbounded"
      })
      const plan = yield* engine.schemaApply(project, { url, devUrl: dev.url })
      return { plan, routines, seeds }
    })
  )
  yield* runScript(url, [routines.sql, ...seeds.map((seed) => seed.sql)].join("\n"))
  const report: ApplyReport = {
    changes: plan.changes,
    routines: [...routines.functions, ...routines.triggers.map((trigger) => trigger.name)],
    seeds: seeds.map((seed) => seed.name)
  }
  return report
})

export const applyMigrations = Effect.fn("applyMigrations")(function*(url: Redacted.Redacted<string>) {
  const project = yield* SchemaProject
  const engine = yield* Engine
  const applied: MigrationsApplied = yield* engine.migrateApply(project, { url })
  return applied
})
