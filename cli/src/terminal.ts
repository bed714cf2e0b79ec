/**
 * The CLI's terminal I/O, all through effect's services, so that a test can
 * run any command in-process with a test console and a scripted stdin:
 * output through `Console` (stdout) and `Console.error` (stderr), input
 * through `Stdio` (the one stdin reader) or, on a terminal, `Prompt`.
 */
import { Effect, Stdio, Stream } from "effect"
import { StdinUnreadable } from "./failure.ts"

/** Reads all of stdin as text: the one reader of every command that takes input from a pipe. */
export const readStdin: Effect.Effect<string, StdinUnreadable, Stdio.Stdio> = Stdio.Stdio.use((stdio) =>
  stdio.stdin.pipe(
    Stream.decodeText(),
    Stream.mkString,
    Effect.mapError((error) => {
      const cause = error.reason.cause as { readonly code?: unknown; readonly name?: unknown } | undefined
      const code = typeof cause?.code === "string" ? cause.code : typeof cause?.name === "string" ? cause.name : "I/O error"
      return new StdinUnreadable({ code })
    })
  )
)

/** Whether stdin is a terminal (a person who can be asked, or type a secret at a hidden prompt). */
export const stdinIsTerminal: Effect.Effect<boolean, never, Stdio.Stdio> = Stdio.Stdio.use((stdio) =>
  stdio.stdinIsTerminal
)

/** Whether a person is at both ends: stdin to answer, stdout to read the question. */
export const interactive: Effect.Effect<boolean, never, Stdio.Stdio> = Stdio.Stdio.use((stdio) =>
  Effect.zipWith(stdio.stdinIsTerminal, stdio.stdoutIsTerminal, (stdin, stdout) => stdin && stdout)
)

/** Whether stderr is a terminal (where a progress bar may redraw itself). */
export const stderrIsTerminal: Effect.Effect<boolean, never, Stdio.Stdio> = Stdio.Stdio.use((stdio) =>
  stdio.stderrIsTerminal
)

/** Writes `text` to stderr as it is, without a newline (a progress bar redrawn with `\r`). */
export const writeStderr = (text: string): Effect.Effect<void, never, Stdio.Stdio> =>
  Stdio.Stdio.use((stdio) => Stream.run(Stream.make(text), stdio.stderr())).pipe(Effect.ignore)
