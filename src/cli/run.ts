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
import { type ExitCode, mask, messageOfCause } from "./errors.ts"

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
 * Runs `args` (without the program name) and resolves to the exit code; never
 * rejects. Aborting `signal` interrupts the command (its resources are
 * released) and resolves to 130.
 */
export const runCli = (args: ReadonlyArray<string>, signal?: AbortSignal): Promise<ExitCode | 130> =>
  Effect.runPromiseExit(
    Command.runWith(commandRoot, { version: packageJson.version })(args).pipe(Effect.provide(cliLayer)),
    { signal }
  ).then((exit) => {
    if (Exit.isSuccess(exit)) return 0
    if (Cause.hasInterruptsOnly(exit.cause)) return 130
    const { message, code } = messageOfCause(exit.cause)
    if (message !== undefined) process.stderr.write(`error: ${mask(message)}${helpHint(exit.cause)}\n`)
    return code
  })
