/**
 * Runs the CLI on an argument list and turns the outcome into an exit code,
 * printing failures as one line on stderr (see errors.ts). `main.ts` calls it
 * with the process's arguments; the quick start calls it in-process.
 */
import { Cause, Console, Effect, Exit, Layer, Logger, References } from "effect"
import { CliConfig, CliError, CliOutput, Command, GlobalFlag } from "effect/cli"
import * as NodeServices from "@effect/platform-node/NodeServices"
import packageJson from "../../package.json" with { type: "json" }
import { commandRoot } from "./app.ts"
import { type ExitCode, messageOfCause } from "./errors.ts"
import { redactSecrets } from "./redact.ts"

/**
 * Help and --version go to stdout. Invalid invocations print nothing here:
 * `runCli` reports them as one `error:` line like every other failure,
 * instead of the library's help page followed by the error.
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
  NodeServices.layer,
  CliConfig.layer({ builtIns: [GlobalFlag.Help, GlobalFlag.Version, GlobalFlag.Completions, GlobalFlag.LogLevel] }),
  CliOutput.layerPresenter(presenter),
  logging
)

/** The usage hint for a parse error: the help of the command that was being parsed. */
const helpHint = (cause: Cause.Cause<unknown>): string => {
  const failure = cause.reasons.find(Cause.isFailReason)?.error
  return CliError.isCliError(failure) && failure._tag === "ShowHelp" && failure.errors.length > 0
    ? ` (see: ${failure.commandPath.join(" ")} --help)`
    : ""
}

/**
 * Runs `args` (without the program name) and succeeds with the exit code:
 * failures have been printed as one line on stderr by then. Interruption
 * (Ctrl-C) is left to the caller, which knows how the process should end.
 */
export const cli = (args: ReadonlyArray<string>): Effect.Effect<ExitCode> =>
  Command.runWith(commandRoot, { version: packageJson.version })(args).pipe(
    Effect.provide(cliLayer),
    Effect.as<ExitCode>(0),
    Effect.catchCause((cause) => {
      if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
      const { message, code } = messageOfCause(cause)
      return Effect.sync(() => {
        if (message !== undefined) process.stderr.write(`error: ${redactSecrets(message)}${helpHint(cause)}\n`)
        return code
      })
    })
  )

/**
 * `cli` as a promise, for running it in-process (the quick start): resolves
 * to the exit code, 130 when `signal` aborted it; never rejects.
 */
export const runCli = (args: ReadonlyArray<string>, signal?: AbortSignal): Promise<ExitCode | 130> =>
  Effect.runPromiseExit(cli(args), { signal }).then((exit) => (Exit.isSuccess(exit) ? exit.value : 130))
