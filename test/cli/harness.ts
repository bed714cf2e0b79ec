/**
 * Runs the `control-plane` CLI the way the tests need it. `makeCli` runs it
 * in-process (`cli(args)` with a capturing console, a scripted stdin and the
 * environment given as its ConfigProvider): fast, and what most tests use.
 * `makeCliProcess` runs it as a subprocess through cli/bin/control-plane.js,
 * the way an operator does, for exit codes and what reaches the real stdout
 * and stderr. Every run's stdout and stderr are checked for secrets (the test
 * database URL, registered connection strings, key material): only stdout of
 * a run that explicitly allows it (`databases reveal`) may hold one.
 */
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { closeSync, openSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { format } from "node:util"
import { ConfigProvider, Console, Effect, Exit, Layer, Sink, Stdio, Stream } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { expect } from "vitest"
import { KeyRingFile } from "../../cli/src/keyRingFile.ts"
import { cli } from "../../cli/src/run.ts"
export const launcher = fileURLToPath(new URL("../../cli/bin/control-plane.js", import.meta.url))

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export interface RunOptions {
  /** Written to the child's stdin, which is then closed (default: empty stdin, not a TTY). */
  readonly stdin?: string
  /** Variables added to (or, when undefined, removed from) the CLI's environment. */
  readonly env?: Record<string, string | undefined>
  /** Secrets that stdout may show (reveal); stderr never may. */
  readonly stdoutMayShow?: ReadonlyArray<string>
  /** A file the process's stdout goes to instead of the test (e.g. /dev/full); process runs only. */
  readonly stdoutFile?: string
}

/** A fresh 32-byte key ring for a test file. */
export const testKeyRing = (ids: ReadonlyArray<string> = ["test-1"], primary = ids[0]!) => {
  const keys = ids.map((id) => ({ id, key: randomBytes(32).toString("base64") }))
  return {
    keys,
    env: {
      CONTROL_PLANE_ENCRYPTION_KEYS: keys.map(({ id, key }) => `${id}:${key}`).join(","),
      CONTROL_PLANE_PRIMARY_KEY_ID: primary
    }
  }
}

/** The environment of the test process minus anything that would point the CLI elsewhere. */
const baseEnvironment = (): NodeJS.ProcessEnv => {
  const env = { ...process.env }
  for (const name of Object.keys(env)) {
    if (name === "DATABASE_URL" || name.startsWith("CONTROL_PLANE_")) delete env[name]
  }
  return { ...env, NO_COLOR: "1", ATLAS_NO_UPDATE_NOTIFIER: "1" }
}

const connectionStringPattern = /postgres(ql)?:\/\//i

/** `env` with `overrides` applied: a value sets a variable, undefined removes it. */
const withOverrides = (env: Record<string, string | undefined>, overrides: Record<string, string | undefined> = {}) => {
  const result: Record<string, string> = {}
  for (const [name, value] of Object.entries({ ...env, ...overrides })) if (value !== undefined) result[name] = value
  return result
}

/** A Console that appends what is logged to `output.stdout` and what is printed as an error to `output.stderr`. */
const capturingConsole = (output: { stdout: string; stderr: string }): Console.Console => {
  const out = (...args: ReadonlyArray<unknown>) => void (output.stdout += `${format(...args)}\n`)
  const err = (...args: ReadonlyArray<unknown>) => void (output.stderr += `${format(...args)}\n`)
  const none = () => {}
  return {
    assert: none, clear: none, count: none, countReset: none, debug: err, dir: out, dirxml: out, error: err,
    group: none, groupCollapsed: none, groupEnd: none, info: out, log: out, table: out, time: none, timeEnd: none,
    timeLog: none, trace: err, warn: err
  }
}

/**
 * Runs the CLI in-process: `cli(args)` with the environment as its only
 * configuration, `stdin` as its standard input (not a terminal) and a console
 * that captures stdout and stderr.
 */
export const runInProcess = async (
  env: Record<string, string>,
  args: ReadonlyArray<string>,
  stdin = "",
  keyRingFile?: string
): Promise<CliResult> => {
  const output = { stdout: "", stderr: "" }
  const collect = (key: "stdout" | "stderr") => () =>
    Sink.forEach((chunk: string | Uint8Array) => Effect.sync(() => void (output[key] += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"))))
  const stdio = Stdio.layerTest({
    stdin: stdin === "" ? Stream.empty : Stream.make(new TextEncoder().encode(stdin)),
    stdout: collect("stdout"),
    stderr: collect("stderr")
  })
  const exit = await Effect.runPromiseExit(
    cli(args).pipe(
      Effect.provide(Layer.mergeAll(stdio, ConfigProvider.layer(ConfigProvider.fromEnv({ env })))),
      Effect.provide(NodeServices.layer),
      Effect.provideService(KeyRingFile, keyRingFile),
      Effect.provideService(Console.Console, capturingConsole(output))
    )
  )
  if (Exit.isFailure(exit)) throw new Error("the CLI was interrupted")
  return { code: exit.value, ...output }
}

/**
 * A CLI bound to an environment (DATABASE_URL, key ring) and a list of
 * secrets that no output may contain. `secrets` grows as tests register
 * connection strings. Runs in-process.
 */
export const makeCli = (env: Record<string, string>, secrets: Array<string> = []) => {
  const run = async (args: ReadonlyArray<string>, options: RunOptions = {}): Promise<CliResult> => {
    const result = await runInProcess(withOverrides(env, options.env), args, options.stdin)
    checkNoSecrets(result, [...secrets, ...Object.values(env).filter(isSecretSetting)], options.stdoutMayShow ?? [])
    return result
  }
  return { run, secrets }
}

/** As makeCli, but each run is a subprocess through cli/bin/control-plane.js. */
export const makeCliProcess = (env: Record<string, string>, secrets: Array<string> = []) => {
  const run = (args: ReadonlyArray<string>, options: RunOptions = {}): Promise<CliResult> =>
    new Promise((resolve, reject) => {
      const childEnv = { ...baseEnvironment(), ...env }
      for (const [name, value] of Object.entries(options.env ?? {})) {
        if (value === undefined) delete childEnv[name]
        else childEnv[name] = value
      }
      const stdoutFd = options.stdoutFile === undefined ? undefined : openSync(options.stdoutFile, "w")
      const child = spawn(process.execPath, [launcher, ...args], { env: childEnv, stdio: ["pipe", stdoutFd ?? "pipe", "pipe"] })
      if (stdoutFd !== undefined) closeSync(stdoutFd) // the child has its own copy
      let stdout = ""
      let stderr = ""
      child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
      child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
      child.on("error", reject)
      child.on("close", (code) => {
        const result = { code, stdout, stderr }
        try {
          checkNoSecrets(result, [...secrets, ...Object.values(env).filter(isSecretSetting)], options.stdoutMayShow ?? [])
          resolve(result)
        } catch (error) {
          reject(error)
        }
      })
      child.stdin!.end(options.stdin ?? "")
    })
  return { run, secrets }
}

/** Values that are secrets: URLs and key lists (key ids and numbers are not). */
const isSecretSetting = (value: string): boolean => connectionStringPattern.test(value) || value.includes(":") && value.length > 40

const checkNoSecrets = (result: CliResult, secrets: ReadonlyArray<string>, stdoutMayShow: ReadonlyArray<string>) => {
  const keyMaterial = secrets.flatMap((secret) =>
    connectionStringPattern.test(secret) ? [secret] : secret.split(",").map((entry) => entry.slice(entry.indexOf(":") + 1))
  )
  // Booleans, not toContain/toMatch: a failing assertion must not print the secret it found.
  keyMaterial.forEach((secret, index) => {
    expect(result.stderr.includes(secret), `stderr shows secret #${index}`).toBe(false)
    if (!stdoutMayShow.includes(secret)) expect(result.stdout.includes(secret), `stdout shows secret #${index}`).toBe(false)
  })
  expect(connectionStringPattern.test(result.stderr), "stderr shows a connection string").toBe(false)
  if (stdoutMayShow.length === 0) {
    expect(connectionStringPattern.test(result.stdout), "stdout shows a connection string").toBe(false)
  }
}

/** The one line a failing command prints. */
export const expectOneErrorLine = (result: CliResult, code: 1 | 2, pattern: RegExp) => {
  expect(result.code, result.stderr).toBe(code)
  const lines = result.stderr.trimEnd().split("\n")
  expect(lines, result.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^error: /)
  expect(lines[0]).toMatch(pattern)
  expect(result.stderr).not.toMatch(/\n\s+at /) // no stack trace
}

/** Runs `use` and checks that `snapshot` (the rows it must not write to) reads the same after as before. */
export const expectUnchanged = async (snapshot: () => Promise<unknown>, use: () => Promise<void>) => {
  const before = await snapshot()
  await use()
  expect(await snapshot()).toEqual(before)
}

const shellQuote = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`), typing `keys` once
 * `waitFor` has appeared on the screen: what an operator at a terminal sees.
 * stdout and stderr arrive merged, as on a screen.
 */
export const runInTerminal = (
  env: Record<string, string>,
  args: ReadonlyArray<string>,
  typing: { readonly waitFor: RegExp; readonly keys: string }
): Promise<{ readonly code: number | null; readonly screen: string }> =>
  new Promise((resolve, reject) => {
    const command = [process.execPath, launcher, ...args].map(shellQuote).join(" ")
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      env: { ...baseEnvironment(), ...env },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let screen = ""
    let typed = false
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      screen += chunk
      if (!typed && typing.waitFor.test(screen)) {
        typed = true
        child.stdin.write(typing.keys)
      }
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (screen += chunk))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, screen }))
  })
