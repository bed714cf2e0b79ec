/**
 * Renders the `function` and `trigger` blocks of routines.hcl to SQL.
 *
 * The community build of Atlas neither plans nor inspects functions and
 * triggers, so the project applies them itself, from the same HCL blocks an
 * Atlas Pro environment would manage. Both the declarative path (db:apply)
 * and the migration that the versioned path replays come from `renderRoutines`.
 */
import { Effect, FileSystem, Schema } from "effect"
import path from "node:path"
import { Engine, type EngineError, type HclBody } from "../engine/Engine.ts"
import { migrationFiles } from "./gate/changes.ts"
import { projectRoot } from "./paths.ts"
import { projectAt } from "./Project.ts"

/** routines.hcl does not fit the renderer (a block missing or repeated, a reference of the wrong kind); the message says what. */
export class RoutinesInvalid extends Schema.TaggedError<RoutinesInvalid>()("RoutinesInvalid", {
  message: Schema.String
}) {}

interface FunctionBlock {
  readonly schema: string
  readonly lang: string
  readonly return: string
  /** IMMUTABLE, STABLE or VOLATILE (PostgreSQL's default when absent). */
  readonly volatility?: string
  /** The schemas the body resolves names in, whatever the calling session's search_path. */
  readonly search_path?: string
  readonly as: string
}

/**
 * A trigger: `before` or `after` one or more of insert, update, delete and
 * truncate, `for` ROW or STATEMENT (truncate triggers are statement level).
 */
interface TriggerBlock {
  readonly on: string
  readonly for: string
  readonly before?: ReadonlyArray<Record<string, boolean>>
  readonly after?: ReadonlyArray<Record<string, boolean>>
  readonly execute: ReadonlyArray<{ readonly function: string }>
}

interface TableBlock {
  readonly schema: string
}

type Blocks<T> = Record<string, ReadonlyArray<T>>

/** A reference such as `${schema.control_plane}` names `control_plane`. */
const referenced = (kind: string, expression: string): string => {
  const match = /^\$\{(\w+)\.(\w+)\}$/.exec(expression)
  if (match === null || match[1] !== kind) {
    throw new Error(`routines.hcl: expected a reference to a ${kind}, found ${expression}`)
  }
  return match[2]!
}

/** A bare identifier such as `${PLpgSQL}` reads `PLpgSQL`. */
const identifier = (expression: string): string => {
  const match = /^\$\{(\w+)\}$/.exec(expression)
  if (match === null) throw new Error(`routines.hcl: expected an identifier, found ${expression}`)
  return match[1]!
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`

const only = <T>(blocks: ReadonlyArray<T> | undefined, what: string): T => {
  if (blocks === undefined || blocks.length !== 1) throw new Error(`routines.hcl: ${what} must be declared once`)
  return blocks[0]!
}

const eventsOf = (timing: ReadonlyArray<Record<string, boolean>>): string =>
  Object.entries(only(timing, "a trigger's timing block"))
    .filter(([, on]) => on)
    .map(([event]) => event.toUpperCase())
    .join(" OR ")

/**
 * A function's pinned search_path, e.g. "pg_catalog, pg_temp" (none when the
 * block declares none). Without it the body resolves operators and functions
 * (`<`, `<>`, `clock_timestamp()`) in the calling session's search_path, so
 * any role that can create a schema could put its own ahead of pg_catalog;
 * every function of the control plane's routines.hcl declares one (a catalog
 * test checks that).
 */
const searchPath = (name: string, fn: FunctionBlock): ReadonlyArray<string> => {
  const value = fn.search_path
  if (value === undefined) return []
  if (!/^[a-z_][a-z0-9_]*(, [a-z_][a-z0-9_]*)*$/.test(value)) {
    throw new Error(`routines.hcl: function ${name}'s search_path must be schema names separated by ", ", found ${JSON.stringify(value)}`)
  }
  return [`SET search_path = ${value}`]
}

const renderFunction = (name: string, fn: FunctionBlock): string => {
  const schema = referenced("schema", fn.schema)
  const body = fn.as.endsWith("\n") ? fn.as : `${fn.as}\n`
  return [
    `CREATE OR REPLACE FUNCTION ${quoteIdent(schema)}.${quoteIdent(name)}()`,
    `RETURNS ${identifier(fn.return)}`,
    `LANGUAGE ${identifier(fn.lang).toLowerCase()}`,
    ...(fn.volatility === undefined ? [] : [identifier(fn.volatility).toUpperCase()]),
    ...searchPath(name, fn),
    `AS $$`,
    `${body}$$;`
  ].join("\n")
}

/** A trigger of routines.hcl with the table it is on (and that table's schema) looked up once. */
interface DeclaredTrigger {
  readonly name: string
  readonly block: TriggerBlock
  readonly schema: string
  readonly table: string
}

const declaredTrigger = (name: string, triggers: Blocks<TriggerBlock>, tables: Blocks<TableBlock>): DeclaredTrigger => {
  const block = only(triggers[name], `trigger ${name}`)
  const table = referenced("table", block.on)
  return { name, block, table, schema: referenced("schema", only(tables[table], `table ${table}`).schema) }
}

const renderTrigger = ({ name, block: trigger, schema: tableSchema, table }: DeclaredTrigger, functions: Blocks<FunctionBlock>): string => {
  const functionName = referenced("function", only(trigger.execute, `trigger ${name}'s execute block`).function)
  const functionSchema = referenced("schema", only(functions[functionName], `function ${functionName}`).schema)
  const timing = trigger.before !== undefined ? `BEFORE ${eventsOf(trigger.before)}` : `AFTER ${eventsOf(trigger.after ?? [])}`
  return [
    `CREATE OR REPLACE TRIGGER ${quoteIdent(name)}`,
    `${timing} ON ${quoteIdent(tableSchema)}.${quoteIdent(table)}`,
    `FOR EACH ${identifier(trigger.for)}`,
    `EXECUTE FUNCTION ${quoteIdent(functionSchema)}.${quoteIdent(functionName)}();`
  ].join("\n")
}

/** A function an earlier routines migration created: its schema and name. */
interface CreatedFunction {
  readonly schema: string
  readonly name: string
}

/** A trigger an earlier routines migration created: its name and its table's schema and name. */
interface CreatedTrigger {
  readonly name: string
  readonly schema: string
  readonly table: string
}

/** What the earlier routines migrations of a project created. */
interface Created {
  readonly functions: ReadonlyArray<CreatedFunction>
  readonly triggers: ReadonlyArray<CreatedTrigger>
}

// The renderer's own output, read back: a quoted identifier is "..." with "" for a quote.
const quoted = `"((?:[^"]|"")+)"`
const createdFunction = new RegExp(`^CREATE OR REPLACE FUNCTION ${quoted}\\.${quoted}\\(\\)$`, "gm")
const createdTrigger = new RegExp(`^CREATE OR REPLACE TRIGGER ${quoted}\\n(?:BEFORE|AFTER) [A-Z ]+ ON ${quoted}\\.${quoted}$`, "gm")
const unquote = (text: string): string => text.replaceAll('""', '"')

/** The functions and triggers the routines migrations in `texts` created. */
const createdBy = (texts: ReadonlyArray<string>): Created => ({
  functions: texts.flatMap((text) =>
    [...text.matchAll(createdFunction)].map((match) => ({ schema: unquote(match[1]!), name: unquote(match[2]!) }))
  ),
  triggers: texts.flatMap((text) =>
    [...text.matchAll(createdTrigger)].map((match) => ({ name: unquote(match[1]!), schema: unquote(match[2]!), table: unquote(match[3]!) }))
  )
})

/** `items` without repeats (by `key`) and without those `declared` holds, sorted by key. */
const undeclared = <T>(items: ReadonlyArray<T>, key: (item: T) => string, declared: ReadonlySet<string>): ReadonlyArray<T> =>
  [...new Map(items.map((item) => [key(item), item])).entries()]
    .filter(([k]) => !declared.has(k))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, item]) => item)

const functionKey = (fn: { readonly schema: string; readonly name: string }) => `${fn.schema}.${fn.name}`
const triggerKey = (trigger: CreatedTrigger) => `${trigger.schema}.${trigger.table}.${trigger.name}`

/**
 * Drops what an earlier routines.hcl declared and this one no longer does:
 * first the triggers (a trigger moved to another table counts as removed from
 * its old one), then the functions, which a removed trigger may still have
 * used. Only what the project's own routines migrations created, never
 * anything else in the same schema or on the same tables (an extension's
 * functions in public, a trigger someone added by hand).
 */
const renderRemovals = (
  functions: Blocks<FunctionBlock>,
  triggers: ReadonlyArray<CreatedTrigger>,
  created: Created
): ReadonlyArray<string> => [
  ...undeclared(created.triggers, triggerKey, new Set(triggers.map(triggerKey))).map((trigger) =>
    `-- No longer in routines.hcl.\nDROP TRIGGER IF EXISTS ${quoteIdent(trigger.name)} ON ${quoteIdent(trigger.schema)}.${quoteIdent(trigger.table)};`
  ),
  ...undeclared(
    created.functions,
    functionKey,
    new Set(Object.entries(functions).map(([name, blocks]) => functionKey({ schema: referenced("schema", only(blocks, name).schema), name })))
  ).map((fn) => `-- No longer in routines.hcl.\nDROP FUNCTION IF EXISTS ${quoteIdent(fn.schema)}.${quoteIdent(fn.name)}();`)
]

/**
 * The syntax of HCL files of the schema project in `root` as JSON, read by
 * the schema engine (`hcl json`): no evaluation, so the bare identifiers of
 * routines.hcl (PLpgSQL, ROW) come back as "${PLpgSQL}". A syntax error is
 * the engine's SchemaInvalid, naming the file and line.
 */
const parseHcl = (root: string, ...files: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<HclBody>, EngineError, Engine> =>
  Engine.use((engine) => engine.hclJson(files.map((file) => path.join(root, file))))

/** Names of the triggers routines.hcl declares, in file order of rendering. */
export interface Routines {
  readonly functions: ReadonlyArray<string>
  readonly triggers: ReadonlyArray<{ readonly name: string; readonly table: string }>
  /** Idempotent SQL (CREATE OR REPLACE) creating every function, then every trigger, then dropping the triggers and functions earlier routines migrations created that are no longer declared. */
  readonly sql: string
}

/** Renders the parsed files; throws an Error naming what does not fit. */
const render = (routines: HclBody, schema: HclBody, created: Created): Routines => {
  const functions = (routines["function"] ?? {}) as Blocks<FunctionBlock>
  const triggers = (routines["trigger"] ?? {}) as Blocks<TriggerBlock>
  const tables = (schema["table"] ?? {}) as Blocks<TableBlock>
  const functionNames = Object.keys(functions).sort()
  const triggerNames = Object.keys(triggers).sort()
  // The functions are rendered first, so that a mistake in one is reported before any trigger's.
  const functionStatements = functionNames.map((name) => renderFunction(name, only(functions[name], `function ${name}`)))
  const declaredTriggers = triggerNames.map((name) => declaredTrigger(name, triggers, tables))
  const statements = [
    ...functionStatements,
    ...declaredTriggers.map((trigger) => renderTrigger(trigger, functions)),
    ...renderRemovals(functions, declaredTriggers, created)
  ]
  return {
    functions: functionNames,
    triggers: declaredTriggers.map(({ name, table }) => ({ name, table })),
    sql: `${statements.join("\n\n")}\n`
  }
}

/**
 * Reads routines.hcl (and the tables of schema.hcl) of the schema project in
 * `root` (the control plane by default, or the tenant template in tenant/) and
 * renders them to SQL.
 */
export const renderRoutines = (
  root: string = projectRoot
): Effect.Effect<Routines, RoutinesInvalid | EngineError, Engine | FileSystem.FileSystem> =>
  Effect.flatMap(
    Effect.all([parseHcl(root, "routines.hcl", "schema.hcl"), createdBefore(root)], { concurrency: "unbounded" }),
    ([[routines = {}, schema = {}], created]) =>
      Effect.try({
        try: () => render(routines, schema, created),
        catch: (error) => new RoutinesInvalid({ message: error instanceof Error ? error.message : "routines.hcl could not be rendered" })
      })
  )

/** The functions and triggers the routines migrations of the project in `root` created (none before its first). */
const createdBefore = (root: string): Effect.Effect<Created, RoutinesInvalid, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const directory = projectAt(root).migrations
    const files = yield* migrationFiles(directory).pipe(Effect.orElseSucceed((): ReadonlyArray<string> => []))
    const texts = yield* Effect.forEach(
      files.filter((file) => file.endsWith(routinesMigrationSuffix)),
      (file) => fs.readFileString(path.join(directory, file))
    )
    return createdBy(texts)
  }).pipe(Effect.mapError((error) => new RoutinesInvalid({ message: `the routines migrations could not be read: ${error.message}` })))

/** Migration files holding the rendered routines end with this. */
export const routinesMigrationSuffix = "_updated_at_routines.sql"

/** The exact content of a migration that creates the current routines of the project in `root`. */
export const renderRoutinesMigration = (
  root: string = projectRoot
): Effect.Effect<string, RoutinesInvalid | EngineError, Engine | FileSystem.FileSystem> =>
  Effect.map(renderRoutines(root), (routines) =>
    [
      "-- Generated by `npm run db:routines` from routines.hcl: do not edit.",
      "-- The community build of Atlas does not manage functions or triggers.",
      "-- CREATE TRIGGER locks its table (SHARE ROW EXCLUSIVE): give up rather than queue",
      "-- every writer behind a long transaction (the gate's require-lock-timeout).",
      "SET lock_timeout = '5s';",
      "",
      routines.sql
    ].join("\n"))
