/**
 * Runs another program of the project (the schema scripts) with the terminal
 * handed over: its output goes straight to ours, and its exit code becomes
 * the command's. The program explains its own failures, so the CLI adds no
 * error line of its own.
 */
import { spawn } from "node:child_process"
import { Effect } from "effect"
import { ChildFailed } from "./failure.ts"
import { projectRoot } from "./schema/paths.ts"

/** Spawns `command args` in the project root with stdio inherited; fails with ChildFailed on a non-zero exit. */
export const runInherited = (command: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env) =>
  Effect.callback<void, ChildFailed>((resume) => {
    const label = [command, ...args].join(" ")
    const child = spawn(command, [...args], { cwd: projectRoot, env, stdio: "inherit" })
    child.on("error", () => resume(Effect.fail(new ChildFailed({ command: label, exitCode: 127 }))))
    child.on("exit", (code, signal) => {
      if (code === 0) resume(Effect.void)
      else resume(Effect.fail(new ChildFailed({ command: label, exitCode: code ?? (signal === null ? 1 : 130) })))
    })
    // Interrupted (Ctrl-C): the child got the same signal from the terminal; make sure it ends.
    return Effect.sync(() => {
      if (child.exitCode === null) child.kill("SIGTERM")
    })
  })
