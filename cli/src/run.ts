/**
 * Runs the CLI on an argument list and turns the outcome into an exit code,
 * printing a failure as one line on stderr (see failure.ts). `main.ts` runs it
 * with Node's services; tests and the quick start run it in-process with
 * their own console, stdin and configuration.
 */
import { Cause, Config, Console, Effect, Layer, Logger, Option, References } from "effect"
import { CliConfig, CliOutput, Command, GlobalFlag } from "effect/cli"
import packageJson from "../package.json" with { type: "json" }
import { commandRoot } from "./app.ts"
import { type CliFailure, cliFailureOf, defectFailure } from "./failure.ts"
import { redactSecrets } from "./redact.ts"

/**
 * Help and --version go to stdout. Invalid invocations print nothing here:
 * `cli` reports them as one `error:` line like every other failure, instead
 * of the library's help page followed by the error.
 */
const presenter: CliOutput.Presenter = {
  present: (event) =>
    Effect.gen(function*() {
      const formatter = yield* CliOutput.Formatter
      switch (event._tag) {
        case "Help":
          return yield* Console.log(formatter.formatHelpDoc(event.helpDoc))
        case "Version":
          return yield* Console.log(`${event.name} ${event.version}`)
        case "InvalidInvocation":
          return
      }
    })
}

/**
 * The services log what they do (a connection string was revealed, rows were
 * re-encrypted). stdout belongs to the command's output (tables, JSON), so
 * logs go to stderr, and only warnings and worse unless --log-level asks for more.
 */
const logging = Layer.mergeAll(
  Layer.succeed(Logger.LogToStderr, true),
  Layer.succeed(References.MinimumLogLevel, "Warn")
)

const cliLayer = Layer.mergeAll(
  CliConfig.layer({ builtIns: [GlobalFlag.Help, GlobalFlag.Version, GlobalFlag.Completions, GlobalFlag.LogLevel] }),
  CliOutput.layerPresenter(presenter),
  logging
)

/** The settings whose values must never be printed, read through the current ConfigProvider. */
const secretSettings = ["DATABASE_URL", "CONTROL_PLANE_ENCRYPTION_KEYS", "ATLAS_DEV_URL", "CONTROL_PLANE_ADMIN_URL"]

const configuredSecrets: Effect.Effect<Record<string, string>> = Effect.forEach(secretSettings, (name) =>
  Config.option(Config.String(name)).pipe(
    Effect.map((value) => [name, Option.getOrUndefined(value)] as const),
    Effect.orElseSucceed(() => [name, undefined] as const)
  )).pipe(
    Effect.map((entries) => Object.fromEntries(entries.filter((entry): entry is readonly [string, string] => entry[1] !== undefined)))
  )

/** Prints the failure's line (masked) on stderr and gives its exit code. */
const report = (failure: CliFailure): Effect.Effect<number> =>
  Effect.gen(function*() {
    const line = failure.line
    if (line !== undefined) yield* Console.error(`error: ${redactSecrets(line, yield* configuredSecrets)}`)
    return failure.exitCode
  })

/**
 * Runs `args` (without the program name) and succeeds with the exit code:
 * a failure has been printed as one line on stderr by then. Interruption
 * (Ctrl-C) is left to the caller, which knows how the process should end.
 */
export const cli = (args: ReadonlyArray<string>): Effect.Effect<number, never, Command.Environment> =>
  Command.runWith(commandRoot, { version: packageJson.version })(args).pipe(
    Effect.provide(cliLayer),
    Effect.matchCauseEffect({
      onSuccess: () => Effect.succeed(0),
      onFailure: (cause) => {
        if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
        const failure = cause.reasons.find(Cause.isFailReason)
        return report(failure === undefined ? defectFailure(cause) : cliFailureOf(failure.error))
      }
    })
  )
