/**
 * `control-plane db diff <name>` (`npm run db:diff -- <name>`): writes the
 * migration that brings migrations/ to the state of schema.hcl, made safe by
 * default, then the routines migration when routines.hcl changed, and
 * re-hashes atlas.sum.
 *
 * The engine plans on a scratch dev database (see ScratchDatabase.ts) and
 * writes the file, with `-- atlas:txmode none` first when a statement runs
 * CONCURRENTLY (atlas.hcl asks for that on existing tables), which
 * PostgreSQL refuses inside a transaction. Every file it writes then gets
 * `SET lock_timeout = '5s';` before its first statement, so that a statement
 * waiting for a lock behind a long transaction gives up instead of blocking
 * the table (the gate's require-lock-timeout).
 */
import { Effect, FileSystem, Option, Schema } from "effect"
import path from "node:path"
import { Engine } from "../engine/Engine.ts"
import { migrationFiles } from "./gate/changes.ts"
import { fileDirective } from "./gate/markers.ts"
import { SchemaProject } from "./Project.ts"
import { renderRoutinesMigration, routinesMigrationSuffix } from "./routines.ts"
import { ScratchDatabase } from "./ScratchDatabase.ts"

/** The lock_timeout every generated migration starts with. */
export const generatedLockTimeout = "5s"

/** A migration name that cannot be part of a file name. */
export class InvalidMigrationName extends Schema.TaggedError<InvalidMigrationName>()("InvalidMigrationName", {
  message: Schema.String
}) {}

const namePattern = /^[a-z][a-z0-9_]{0,62}$/

export interface DiffResult {
  /** The files written, in version order. */
  readonly written: ReadonlyArray<string>
  /** The routines migration written, when routines.hcl had changed. */
  readonly routines: string | undefined
}

/** Adds the lock_timeout to a generated file, after its leading directives (which must stay first). */
export const makeSafe = (generated: string): string => {
  const lines = generated.split("\n")
  // The directive block is the leading comment lines and the blank line after them.
  const directives = fileDirective(generated, "txmode").length > 0 ? lines.indexOf("") + 1 : 0
  const header = [
    "-- Give up instead of queueing every reader and writer behind a lock this file waits for.",
    `SET lock_timeout = '${generatedLockTimeout}';`
  ]
  return [...lines.slice(0, directives), ...header, ...lines.slice(directives)].join("\n")
}


/**
 * Writes the routines of routines.hcl as a new migration when the newest
 * routines migration no longer matches them; gives its name, or None.
 * atlas.sum is left to the caller to re-hash.
 */
export const writeRoutinesMigration = Effect.gen(function*() {
  const project = yield* SchemaProject
  const engine = yield* Engine
  const fs = yield* FileSystem.FileSystem
  const wanted = yield* renderRoutinesMigration(project.root) // routines.hcl must render before anything is written
  // The file name suffix of routines migrations, as the engine's migration name.
  const routinesMigrationName = routinesMigrationSuffix.replace(/^_/, "").replace(/\.sql$/, "")
  const newest = (yield* migrationFiles(project.migrations)).filter((file) => file.endsWith(routinesMigrationSuffix)).at(-1)
  if (newest !== undefined && (yield* fs.readFileString(path.join(project.migrations, newest))) === wanted) {
    return Option.none<string>()
  }
  const created = yield* engine.migrateNew(project, routinesMigrationName)
  const file = created.written.find((name: string) => name.endsWith(".sql"))!
  yield* fs.writeFileString(path.join(project.migrations, file), wanted)
  return Option.some(file)
})

export const generateMigration = Effect.fn("generateMigration")(function*(name: string) {
  if (!namePattern.test(name)) {
    return yield* new InvalidMigrationName({
      message: `migration name "${name}" must be lower-case letters, digits and underscores, starting with a letter (e.g. add_region_to_tenant_databases)`
    })
  }
  const project = yield* SchemaProject
  const engine = yield* Engine
  const scratch = yield* ScratchDatabase
  const fs = yield* FileSystem.FileSystem
  const generated = yield* Effect.scoped(
    Effect.flatMap(scratch.make("cp_diff_dev"), (dev) => engine.migrateDiff(project, name, { devUrl: dev.url }, { dirOnly: true }))
  )
  for (const file of generated.written) {
    const target = path.join(project.migrations, file)
    yield* fs.writeFileString(target, makeSafe(yield* fs.readFileString(target)))
  }
  // migrate new (below) checks atlas.sum first: hash the file just written before it.
  if (generated.written.length > 0) yield* engine.migrateHash(project)
  // The engine does not plan functions or triggers: their migration comes from routines.hcl.
  const routines = yield* writeRoutinesMigration
  yield* engine.migrateHash(project)
  const result: DiffResult = {
    written: [...generated.written, ...Option.toArray(routines)],
    routines: Option.getOrUndefined(routines)
  }
  return result
})
