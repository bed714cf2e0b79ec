/**
 * A lock between processes on one machine: a file created exclusively, holding
 * the owner's pid. Commands that change shared local state (the quick start's
 * server, its key ring file) take it, so two of them never interleave. A lock
 * whose owner died without releasing it (killed) is taken over.
 */
import { readFile, rm, writeFile } from "node:fs/promises"
import { Effect, Schedule, Schema } from "effect"

/** Another live process held the lock for longer than we were willing to wait. */
export class LockTimeout extends Schema.TaggedError<LockTimeout>()("LockTimeout", {
  file: Schema.String,
  pid: Schema.Number
}) {
  override get message(): string {
    return `another control-plane command (pid ${this.pid}) has held ${this.file} for too long: wait for it to finish and try again`
  }
}

class Held extends Schema.TaggedError<Held>()("Held", { pid: Schema.Number }) {}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** One attempt: create the file, or find out who holds it (a dead owner's file is removed first). */
const tryAcquire = (file: string): Effect.Effect<void, Held> =>
  Effect.flatMap(
    Effect.promise(() =>
      writeFile(file, `${process.pid}\n`, { flag: "wx", mode: 0o600 }).then(
        () => undefined,
        async (error: NodeJS.ErrnoException) => {
          if (error.code !== "EEXIST") throw error
          const pid = Number.parseInt(await readFile(file, "utf8").catch(() => ""), 10)
          // Written but not yet filled, or its owner is gone (a killed command).
          if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return pid
          if (Number.isInteger(pid)) await rm(file, { force: true })
          return 0
        }
      )
    ),
    (holder) => (holder === undefined ? Effect.void : Effect.fail(new Held({ pid: holder })))
  )

/** Runs `effect` holding the lock `file`: waits up to `wait` for another holder, releases it in any case. */
export const withFileLock = (file: string, wait: Schedule.Schedule<unknown, unknown> = Schedule.spaced("100 millis").pipe(Schedule.upTo({ duration: "2 minutes" }))) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | LockTimeout, R> =>
  Effect.acquireUseRelease(
    tryAcquire(file).pipe(
      Effect.retry(wait),
      Effect.mapError((held) => new LockTimeout({ file, pid: held.pid }))
    ),
    () => effect,
    () => Effect.promise(() => rm(file, { force: true }))
  )
