/**
 * The schema engine (engine/, built into .bin/control-plane-engine) as a
 * service: one method per verb of its command line, each running the binary
 * with `--format json` and decoding the one JSON document it prints.
 *
 * The binary is found once, when the layer is built: CONTROL_PLANE_ENGINE
 * (a path), else the checkout's .bin/, else beside the installed CLI package
 * (bin/control-plane-engine). Connection strings travel as `Redacted` into the
 * child's environment (DATABASE_URL and ATLAS_DEV_URL, which atlas.hcl reads
 * with getenv), never on its command line, and the child inherits nothing
 * else of ours. Every failure is one `EngineError` whose `reason` is the
 * engine's own (see the contract at the top of engine/main.go) or
 * NotInstalled; its message is the engine's sentence, which names no secret.
 * Interrupting a call kills the engine (the spawn is scoped).
 *
 * migrateSession is the one long-lived call: `migrate serve` for a scope (a
 * fleet run), with the connection strings on its stdin, one JSON line per
 * request, unwrapped from Redacted only as they are written there; an
 * interrupted request is cancelled in the engine.
 */
import { Cause, Config, Context, Deferred, Effect, Fiber, Layer, Option, Queue, Redacted, Schema, Stream } from "effect"
import type { Scope } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import { existsSync } from "node:fs"
import path from "node:path"
import { cliPackageRoot, projectRoot } from "../schema/paths.ts"
import type { SchemaProjectShape } from "../schema/Project.ts"

export const EngineErrorReason = Schema.Literals([
  "NotInstalled",
  "Usage",
  "ConfigInvalid",
  "SchemaInvalid",
  "ServerUnreachable",
  "AuthFailed",
  "UnsupportedServer",
  "PermissionDenied",
  "ChecksumMismatch",
  "MigrationFailed",
  "PlanFailed",
  "LockTimeout",
  "DirtyDatabase",
  "DevDatabaseNeeded",
  "Internal"
])
export type EngineErrorReason = typeof EngineErrorReason.Type

/** The engine failed, or could not be run; `message` is one sentence without secrets. */
export class EngineError extends Schema.TaggedError<EngineError>()("EngineError", {
  reason: EngineErrorReason,
  message: Schema.String,
  /** The migration file concerned (ChecksumMismatch, MigrationFailed), when the engine named one. */
  file: Schema.optionalKey(Schema.String)
}) {}

// ---------------------------------------------------------------------------
// What the verbs print (engine/main.go); extra fields are ignored.

export const Change = Schema.Struct({ comment: Schema.String, sql: Schema.String })
export type Change = typeof Change.Type

const Version = Schema.Struct({ engine: Schema.String, atlas: Schema.String })
const SchemaApplied = Schema.Struct({ changes: Schema.Array(Change), applied: Schema.Boolean })
export type SchemaApplied = typeof SchemaApplied.Type
const SchemaDiffed = Schema.Struct({ inSync: Schema.Boolean, changes: Schema.Array(Change) })
export type SchemaDiffed = typeof SchemaDiffed.Type
const Written = Schema.Struct({ written: Schema.Array(Schema.String), version: Schema.String })
export type Written = typeof Written.Type
const AppliedFile = Schema.Struct({
  version: Schema.String,
  description: Schema.String,
  statements: Schema.Number,
  durationMs: Schema.Number
})
export const MigrationsApplied = Schema.Struct({
  applied: Schema.Array(AppliedFile),
  current: Schema.String,
  pending: Schema.Number
})
export type MigrationsApplied = typeof MigrationsApplied.Type
export const MigrationStatus = Schema.Struct({
  current: Schema.String,
  next: Schema.String,
  pending: Schema.Array(Schema.String),
  applied: Schema.Number,
  partial: Schema.NullOr(
    Schema.Struct({ version: Schema.String, applied: Schema.Number, total: Schema.Number, error: Schema.String })
  )
})
export type MigrationStatus = typeof MigrationStatus.Type
const Validated = Schema.Struct({ valid: Schema.Boolean, files: Schema.Number })
const LintFinding = Schema.Struct({
  file: Schema.String,
  line: Schema.Number,
  pos: Schema.Number,
  code: Schema.String,
  analyzer: Schema.String,
  message: Schema.String,
  statement: Schema.String,
  error: Schema.Boolean
})
export type LintFinding = typeof LintFinding.Type
const Linted = Schema.Struct({ files: Schema.Array(Schema.String), findings: Schema.Array(LintFinding) })
export type Linted = typeof Linted.Type
const Statement = Schema.Struct({
  index: Schema.Number,
  line: Schema.Number,
  endLine: Schema.Number,
  pos: Schema.Number,
  text: Schema.String,
  kind: Schema.String,
  concurrently: Schema.Boolean,
  transactional: Schema.Boolean,
  tables: Schema.Array(Schema.String),
  error: Schema.optionalKey(Schema.String)
})
export type Statement = typeof Statement.Type
const Statements = Schema.Struct({
  files: Schema.Array(Schema.Struct({ file: Schema.String, statements: Schema.Array(Statement) }))
})

/** An HCL file's syntax as JSON (see `hcl json` in engine/main.go): blocks, attributes, "${…}" for the rest. */
export const HclBody = Schema.Record(Schema.String, Schema.Unknown)
export type HclBody = typeof HclBody.Type
const HclFiles = Schema.Struct({ files: Schema.Array(Schema.Struct({ file: Schema.String, body: HclBody })) })

const Failure = Schema.Struct({
  error: Schema.Struct({
    reason: Schema.String,
    message: Schema.String,
    file: Schema.optionalKey(Schema.String)
  })
})

/** One answer of `migrate serve`: the verb's document, or a failure as the one-shot verbs print it. */
const ServeAnswer = Schema.Struct({
  id: Schema.optionalKey(Schema.String),
  /** A confirmed apply's status, read under its lock before anything is applied. */
  status: Schema.optionalKey(Schema.Unknown),
  result: Schema.optionalKey(Schema.Unknown),
  error: Schema.optionalKey(Failure.fields.error)
})
type ServeAnswer = typeof ServeAnswer.Type
const decodeServeAnswer = Schema.decodeUnknownEffect(ServeAnswer)

// ---------------------------------------------------------------------------

/**
 * One engine process for many databases (`migrate serve`): what a fleet run
 * asks of the engine, without a process per database. Calls may run at once;
 * each does exactly what its one-shot verb does.
 */
export interface MigrateSession {
  /** Which files `url` has applied, and which are pending (as migrateStatus). */
  readonly status: (url: Redacted.Redacted<string>) => Effect.Effect<MigrationStatus, EngineError>
  /**
   * Applies the pending migration files to `url` (as migrateApply), on one
   * connection. With `beforeApplying`, the database's status is read first,
   * under the engine's advisory lock, and handed to it; files are applied
   * only once it has succeeded (if it fails, nothing is applied).
   */
  readonly apply: <E = never, R = never>(
    url: Redacted.Redacted<string>,
    beforeApplying?: (status: MigrationStatus) => Effect.Effect<void, E, R>
  ) => Effect.Effect<MigrationsApplied, EngineError | E, R>
}

/** The databases one call works on. */
export interface Databases {
  /** The database to read or change (DATABASE_URL in atlas.hcl). */
  readonly url?: Redacted.Redacted<string> | undefined
  /** An empty scratch database to normalise and replay on (ATLAS_DEV_URL in atlas.hcl). */
  readonly devUrl?: Redacted.Redacted<string> | undefined
}

export interface EngineService {
  /** The engine's and the Atlas library's versions. */
  readonly version: Effect.Effect<typeof Version.Type, EngineError>
  /**
   * Plans schema.hcl against `url` and applies the plan (not with dryRun).
   * Without `devUrl`, only a target holding none of schema.hcl's schemas is
   * planned; another is DevDatabaseNeeded, with nothing written.
   */
  readonly schemaApply: (
    project: SchemaProjectShape,
    databases: Databases,
    options?: { readonly dryRun?: boolean }
  ) => Effect.Effect<SchemaApplied, EngineError>
  /** The statements that would bring `url` to schema.hcl; inSync when there are none. */
  readonly schemaDiff: (project: SchemaProjectShape, databases: Databases) => Effect.Effect<SchemaDiffed, EngineError>
  /** Writes the next migration file from schema.hcl (and atlas.sum unless dirOnly). */
  readonly migrateDiff: (
    project: SchemaProjectShape,
    name: string,
    databases: Databases,
    options?: { readonly dirOnly?: boolean }
  ) => Effect.Effect<Written, EngineError>
  /** Writes an empty migration file with the next version, and atlas.sum. */
  readonly migrateNew: (project: SchemaProjectShape, name: string) => Effect.Effect<Written, EngineError>
  /** Rewrites atlas.sum from the files of the migration directory. */
  readonly migrateHash: (project: SchemaProjectShape) => Effect.Effect<Written, EngineError>
  /** Applies the pending migration files to `url`. */
  readonly migrateApply: (project: SchemaProjectShape, databases: Databases) => Effect.Effect<MigrationsApplied, EngineError>
  /** Which files `url` has applied, and which are pending. */
  readonly migrateStatus: (project: SchemaProjectShape, databases: Databases) => Effect.Effect<MigrationStatus, EngineError>
  /**
   * An engine process serving `migrate status` and `migrate apply` for the
   * scope (the project's env and migration directory read once, when it
   * starts). Connection strings reach it on its stdin, never its command line.
   */
  readonly migrateSession: (project: SchemaProjectShape) => Effect.Effect<MigrateSession, EngineError, Scope.Scope>
  /** Checks atlas.sum and replays every file on the dev database. */
  readonly migrateValidate: (project: SchemaProjectShape, databases: Databases) => Effect.Effect<typeof Validated.Type, EngineError>
  /** Lints the latest `latest` files on the dev database; findings are a result, not a failure. */
  readonly migrateLint: (project: SchemaProjectShape, latest: number, databases: Databases) => Effect.Effect<Linted, EngineError>
  /** The statements of each file, found by PostgreSQL's own parser. */
  readonly statements: (
    files: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyMap<string, ReadonlyArray<Statement>>, EngineError>
  /**
   * Each HCL file's syntax as JSON, nothing evaluated, in the order given; a
   * syntax error is SchemaInvalid naming the file and line.
   */
  readonly hclJson: (files: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<HclBody>, EngineError>
}

/** The binary's file name. */
export const engineBinaryName = "control-plane-engine"

/** Where the engine may be, in order: the checkout's .bin/, then beside the installed CLI package. */
const candidates = (): ReadonlyArray<string> => [
  path.join(projectRoot, ".bin", engineBinaryName),
  path.join(cliPackageRoot, "bin", engineBinaryName)
]

const notInstalled = new EngineError({
  reason: "NotInstalled",
  message: `the schema engine is not installed: run \`npm run setup\` (it builds .bin/${engineBinaryName})`
})

/**
 * The engine's driver (lib/pq) insists on TLS unless told otherwise, where
 * psql and node-postgres prefer it: a URL to a loopback server that says
 * nothing about sslmode gets `sslmode=disable`, as loopback servers rarely
 * speak TLS (the embedded ones do not).
 */
export const forEngine = (url: Redacted.Redacted<string>): Redacted.Redacted<string> => {
  const raw = Redacted.value(url)
  if (!URL.canParse(raw)) return url
  const parsed = new URL(raw)
  const loopback = ["localhost", "127.0.0.1", "[::1]", ""].includes(parsed.hostname)
  if (!loopback || parsed.searchParams.has("sslmode")) return url
  parsed.searchParams.set("sslmode", "disable")
  return Redacted.make(parsed.toString())
}

const utf8 = new TextEncoder()

const decodeJson = Schema.decodeUnknownEffect(Schema.fromJsonString(Schema.Unknown))

/** The engine's failure document as an EngineError (an unknown reason is Internal). */
const engineErrorOf = (error: typeof Failure.Type["error"]): EngineError =>
  new EngineError({
    reason: Schema.is(EngineErrorReason)(error.reason) ? error.reason : "Internal",
    message: error.message,
    ...(error.file === undefined ? {} : { file: error.file })
  })

/** Decodes a verb's result document with `schema`. */
const decodeResult = <S extends Schema.Codec<unknown, unknown, never, never>>(schema: S, document: unknown) =>
  Schema.decodeUnknownEffect(schema)(document).pipe(
    Effect.mapError((error) =>
      new EngineError({ reason: "Internal", message: `the schema engine printed an unexpected report: ${error.message.split("\n")[0]}` })
    )
  )

/** How each exit code of the engine is read (engine/main.go): 0 and 3 carry a result, 1 and 2 a failure. */
const isResult = (code: number): boolean => code === 0 || code === 3

/**
 * How long an interrupted engine gets to end after SIGTERM before SIGKILL.
 * The engine stops its database work on SIGTERM (the server rolls back what
 * was in flight) and still writes its document, which the detached readers
 * below drain; should it not end anyway, the release would otherwise wait
 * for it forever (as it did for a document bigger than a pipe's buffer
 * once nobody read stdout any more: `sql statements` over every migration
 * writes about 160 kB).
 */
const forceKillAfter = "3 seconds"

export class Engine extends Context.Service<Engine, EngineService>()("control-plane-cli/Engine") {
  static readonly layerNoDeps = Layer.effect(
    Engine,
    Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
      const configured = yield* Config.option(Config.String("CONTROL_PLANE_ENGINE")).pipe(Effect.orDie)
      const binary = Option.match(configured, {
        onSome: (given) => (given.trim() === "" ? candidates().find(existsSync) : path.resolve(given)),
        onNone: () => candidates().find(existsSync)
      })

      /** The engine's binary, checked when it is about to run (setup may have built it meanwhile). */
      const installed: Effect.Effect<string, EngineError> = Effect.suspend(() =>
        binary === undefined || !existsSync(binary) ? notInstalled : Effect.succeed(binary)
      )
      const couldNotRun = (error: { readonly message: string }) =>
        Effect.fail(new EngineError({ reason: "Internal", message: `the schema engine could not be run: ${error.message}` }))

      /** Runs the engine and gives its exit code and the JSON document it printed. */
      const run = (args: ReadonlyArray<string>, cwd: string, databases: Databases = {}) =>
        Effect.gen(function*() {
          const executable = yield* installed
          const env: Record<string, string | Redacted.Redacted<string>> = {}
          if (databases.url !== undefined) env["DATABASE_URL"] = forEngine(databases.url)
          if (databases.devUrl !== undefined) env["ATLAS_DEV_URL"] = forEngine(databases.devUrl)
          const handle = yield* spawner.spawn(
            ChildProcess.make(executable, [...args, "--format", "json"], { cwd, env, extendEnv: false, forceKillAfter })
          )
          // The readers are detached: when this call is interrupted they go on
          // draining the pipes until the engine exits, so that an engine told
          // to stop (SIGTERM, from the spawn's release) can finish writing and
          // end, rather than block in a write nobody reads.
          const readers = yield* Effect.forkDetach(Effect.all(
            [Stream.mkString(Stream.decodeText(handle.stdout)), Stream.mkString(Stream.decodeText(handle.stderr))],
            { concurrency: "unbounded" }
          ))
          const code = yield* handle.exitCode
          const [stdout, stderr] = yield* Fiber.join(readers)
          const document = yield* decodeJson(stdout).pipe(
            Effect.mapError(() =>
              new EngineError({
                reason: "Internal",
                message: `the schema engine exited with code ${code} without a JSON report${stderr.trim() === "" ? "" : ` (stderr: ${stderr.trim().split("\n")[0]})`}`
              })
            )
          )
          return { code: Number(code), document }
        }).pipe(
          Effect.scoped,
          Effect.catchTag("PlatformError", couldNotRun)
        )

      /** Runs a verb and decodes its result with `schema`; a failure document becomes EngineError. */
      const verb = <S extends Schema.Codec<unknown, unknown, never, never>>(
        schema: S,
        args: ReadonlyArray<string>,
        cwd: string,
        databases?: Databases
      ): Effect.Effect<S["Type"], EngineError> =>
        Effect.gen(function*() {
          const { code, document } = yield* run(args, cwd, databases)
          if (isResult(code)) return yield* decodeResult(schema, document)
          const failure = yield* Schema.decodeUnknownEffect(Failure)(document).pipe(
            Effect.mapError(() => new EngineError({ reason: "Internal", message: `the schema engine failed with exit code ${code}` }))
          )
          return yield* engineErrorOf(failure.error)
        })

      const inProject = (project: SchemaProjectShape, ...args: ReadonlyArray<string>) => [
        ...args,
        "--config",
        project.config,
        "--env",
        project.env
      ]

      /**
       * `migrate serve` for the scope: requests go to its stdin as JSON lines
       * (the URL unwrapped only there, at the process boundary), and each
       * line it answers goes to the mailbox of the call it names. When the
       * process ends, every call still waiting, and every later one, fails
       * with why. Closing the scope ends its stdin, which stops anything still
       * in flight, and waits for it to exit (the spawn's own release kills it
       * if it does not).
       */
      const migrateSession = Effect.fn("Engine.migrateSession")(function*(project: SchemaProjectShape) {
        const executable = yield* installed
        const requests = yield* Queue.unbounded<Uint8Array, Cause.Done>()
        const handle = yield* spawner.spawn(
          ChildProcess.make(executable, [...inProject(project, "migrate", "serve"), "--format", "json"], {
            cwd: project.root,
            env: {},
            extendEnv: false,
            stdin: Stream.fromQueue(requests),
            // In our process group: a signal to the run's group (Ctrl-C, a SIGKILL of the group) reaches it too.
            detached: false,
            forceKillAfter
          })
        ).pipe(Effect.catchTag("PlatformError", couldNotRun))
        const mailboxes = new Map<string, Queue.Queue<ServeAnswer>>()
        let ended: EngineError | undefined
        let nextId = 0

        /** One line of the engine's stdout, to the call it names; one without an id is why the engine stopped. */
        const deliver = (line: string) =>
          Effect.gen(function*() {
            if (line.trim() === "") return
            const parsed = yield* decodeJson(line).pipe(Effect.flatMap(decodeServeAnswer), Effect.option)
            if (Option.isNone(parsed)) {
              ended ??= new EngineError({ reason: "Internal", message: "the schema engine printed a line that is not an answer" })
              return
            }
            const answer = parsed.value
            if (answer.id === undefined || answer.id === "") {
              if (answer.error !== undefined) ended ??= engineErrorOf(answer.error)
              return
            }
            const mailbox = mailboxes.get(answer.id)
            if (mailbox === undefined) return
            if (answer.status === undefined) mailboxes.delete(answer.id)
            yield* Queue.offer(mailbox, answer)
          })
        yield* Stream.decodeText(handle.stdout).pipe(
          Stream.splitLines,
          Stream.runForEach(deliver),
          Effect.ignore,
          Effect.andThen(Effect.gen(function*() {
            ended ??= new EngineError({ reason: "Internal", message: "the schema engine stopped serving" })
            const stopped: ServeAnswer = { error: { reason: ended.reason, message: ended.message } }
            for (const mailbox of mailboxes.values()) yield* Queue.offer(mailbox, stopped)
            mailboxes.clear()
          })),
          Effect.forkScoped
        )
        yield* Effect.addFinalizer(() =>
          Queue.end(requests).pipe(
            Effect.andThen(handle.exitCode),
            Effect.timeout("10 seconds"),
            Effect.ignore
          )
        )

        const send = (request: Record<string, unknown>) =>
          Queue.offer(requests, utf8.encode(`${JSON.stringify(request)}\n`))

        /**
         * Sends one request and reads its answers: a status first when
         * `beforeApplying` is given (run, then proceed if files are pending),
         * then the result or the failure.
         */
        const request = <S extends Schema.Codec<unknown, unknown, never, never>, E, R>(
          schema: S,
          verb: "status" | "apply",
          url: Redacted.Redacted<string>,
          beforeApplying?: (status: MigrationStatus) => Effect.Effect<void, E, R>
        ): Effect.Effect<S["Type"], EngineError | E, R> =>
          Effect.gen(function*() {
            const id = String(++nextId)
            const mailbox = yield* Queue.unbounded<ServeAnswer>()
            const refused = yield* Effect.sync(() => {
              if (ended !== undefined) return ended
              mailboxes.set(id, mailbox)
              return undefined
            })
            if (refused !== undefined) return yield* refused
            const confirm = beforeApplying === undefined ? {} : { confirm: true }
            return yield* Effect.gen(function*() {
              yield* send({ id, verb, url: Redacted.value(forEngine(url)), ...confirm })
              for (;;) {
                const answer = yield* Queue.take(mailbox)
                if (answer.error !== undefined) return yield* engineErrorOf(answer.error)
                if (answer.status === undefined) return yield* decodeResult(schema, answer.result)
                const status = yield* decodeResult(MigrationStatus, answer.status)
                if (beforeApplying !== undefined) yield* beforeApplying(status)
                if (status.pending.length > 0) yield* send({ id, proceed: true })
              }
            }).pipe(
              // Ended on our side (interrupted, or beforeApplying failed) before the engine's answer:
              // the engine stops its work on it (its transaction rolls back, the lock is released).
              Effect.onExit(() =>
                mailboxes.has(id) ? Effect.andThen(Effect.sync(() => mailboxes.delete(id)), send({ id, cancel: true })) : Effect.void
              )
            )
          })

        return {
          status: (url) => request(MigrationStatus, "status", url),
          apply: (url, beforeApplying) => request(MigrationsApplied, "apply", url, beforeApplying)
        } satisfies MigrateSession
      })

      return Engine.of({
        version: verb(Version, ["version"], projectRoot).pipe(Effect.withSpan("Engine.version")),
        schemaApply: Effect.fn("Engine.schemaApply")(function*(project, databases, options) {
          const args = inProject(project, "schema", "apply", ...(options?.dryRun === true ? ["--dry-run"] : []))
          return yield* verb(SchemaApplied, args, project.root, databases)
        }),
        schemaDiff: Effect.fn("Engine.schemaDiff")(function*(project, databases) {
          return yield* verb(SchemaDiffed, inProject(project, "schema", "diff"), project.root, databases)
        }),
        migrateDiff: Effect.fn("Engine.migrateDiff")(function*(project, name, databases, options) {
          const args = inProject(project, "migrate", "diff", name, ...(options?.dirOnly === true ? ["--dir-only"] : []))
          return yield* verb(Written, args, project.root, databases)
        }),
        migrateNew: Effect.fn("Engine.migrateNew")(function*(project, name) {
          return yield* verb(Written, inProject(project, "migrate", "new", name), project.root)
        }),
        migrateHash: Effect.fn("Engine.migrateHash")(function*(project) {
          return yield* verb(Written, inProject(project, "migrate", "hash"), project.root)
        }),
        migrateApply: Effect.fn("Engine.migrateApply")(function*(project, databases) {
          return yield* verb(MigrationsApplied, inProject(project, "migrate", "apply"), project.root, databases)
        }),
        migrateStatus: Effect.fn("Engine.migrateStatus")(function*(project, databases) {
          return yield* verb(MigrationStatus, inProject(project, "migrate", "status"), project.root, databases)
        }),
        migrateSession,
        migrateValidate: Effect.fn("Engine.migrateValidate")(function*(project, databases) {
          return yield* verb(Validated, inProject(project, "migrate", "validate"), project.root, databases)
        }),
        migrateLint: Effect.fn("Engine.migrateLint")(function*(project, latest, databases) {
          const args = inProject(project, "migrate", "lint", "--latest", String(latest))
          return yield* verb(Linted, args, project.root, databases)
        }),
        statements: Effect.fn("Engine.statements")(function*(files) {
          if (files.length === 0) return new Map()
          const result = yield* verb(Statements, ["sql", "statements", ...files], projectRoot)
          // The engine names each file as it was given.
          return new Map(result.files.map((file) => [file.file, file.statements]))
        }),
        hclJson: Effect.fn("Engine.hclJson")(function*(files) {
          if (files.length === 0) return []
          const result = yield* verb(HclFiles, ["hcl", "json", ...files], projectRoot)
          return result.files.map((file) => file.body)
        })
      })
    })
  )

  /** The engine with the Node platform it spawns through. */
  static readonly layer = Engine.layerNoDeps.pipe(Layer.provide(NodeServices.layer))
}
