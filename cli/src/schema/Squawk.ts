/**
 * squawk, the PostgreSQL migration linter (the squawk-cli npm package ships
 * its binary), as a service: `lint` runs it on migration files with a
 * configuration file and reads back its JSON report. The program is found
 * once, when the layer is built.
 */
import { Context, Effect, Layer, Option, Schema, Stream } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import { createRequire } from "node:module"
import path from "node:path"

/** squawk could not be run, or printed something other than its report. */
export class SquawkError extends Schema.TaggedError<SquawkError>()("SquawkError", {
  message: Schema.String
}) {}

const Violation = Schema.Struct({
  file: Schema.String,
  /** 0-based line of the statement squawk reports. */
  line: Schema.Number,
  rule_name: Schema.String,
  message: Schema.String,
  help: Schema.optionalKey(Schema.NullOr(Schema.String))
})
export type SquawkViolation = typeof Violation.Type

const Report = Schema.fromJsonString(Schema.Array(Violation))

export interface SquawkService {
  /**
   * Lints `files` with the configuration `config`; `inTransaction` says
   * whether they will run inside a transaction (squawk's transaction-aware
   * rules judge them so). Violations are the result; only a failure to run is an error.
   */
  readonly lint: (
    files: ReadonlyArray<string>,
    options: { readonly config: string; readonly inTransaction: boolean }
  ) => Effect.Effect<ReadonlyArray<SquawkViolation>, SquawkError>
}

/** The launcher script of the squawk-cli package, run with this Node. */
const squawkScript = (): string => {
  const require = createRequire(import.meta.url)
  const manifest = require.resolve("squawk-cli/package.json")
  return path.join(path.dirname(manifest), "js", "bin", "squawk")
}

export class Squawk extends Context.Service<Squawk, SquawkService>()("control-plane-cli/Squawk") {
  static readonly layerNoDeps = Layer.effect(
    Squawk,
    Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
      const script = yield* Effect.try({
        try: squawkScript,
        catch: () => new SquawkError({ message: "squawk is not installed: run `npm run setup`" })
      }).pipe(Effect.option)

      const lint = Effect.fn("Squawk.lint")(
        function*(files: ReadonlyArray<string>, options: { readonly config: string; readonly inTransaction: boolean }) {
          if (files.length === 0) return []
          if (Option.isNone(script)) return yield* new SquawkError({ message: "squawk is not installed: run `npm run setup`" })
          const program = script.value
          const args = [
            program,
            "--config", options.config,
            "--reporter", "json",
            ...(options.inTransaction ? [] : ["--no-assume-in-transaction"]),
            ...files
          ]
          const handle = yield* spawner.spawn(ChildProcess.make(process.execPath, args))
          const [stdout, stderr, code] = yield* Effect.all(
            [Stream.mkString(Stream.decodeText(handle.stdout)), Stream.mkString(Stream.decodeText(handle.stderr)), handle.exitCode],
            { concurrency: "unbounded" }
          )
          // squawk exits 1 when it finds violations, with its report on stdout.
          if (code !== 0 && !(code === 1 && stdout.trim().startsWith("["))) {
            return yield* new SquawkError({ message: `squawk failed: ${stderr.trim().split("\n")[0] ?? `exit code ${code}`}` })
          }
          return yield* Schema.decodeUnknownEffect(Report)(stdout).pipe(
            Effect.mapError(() => new SquawkError({ message: "squawk printed a report that is not the JSON expected" }))
          )
        },
        Effect.scoped,
        Effect.catchTag("PlatformError", (error) => Effect.fail(new SquawkError({ message: `squawk could not be run: ${error.message}` })))
      )
      return Squawk.of({ lint })
    })
  )

  static readonly layer = Squawk.layerNoDeps.pipe(Layer.provide(NodeServices.layer))
}
