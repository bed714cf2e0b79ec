/**
 * Runs the Atlas CLI for the project's scripts.
 *
 * The binary is the one `npm run setup` builds into .bin/ from the pinned Go
 * tools module (tools/atlas), unless ATLAS_BIN names another or an `atlas` on
 * PATH is at least the pinned version. The update notifier is always off: it
 * calls the network with no timeout.
 */
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { promisify } from "node:util"
import { projectFile, projectRoot } from "./paths.ts"

const run = promisify(execFile)

/** The Atlas version tools/atlas/go.mod pins. */
export const pinnedAtlasVersion = "v0.13.1"

/**
 * The env of atlas.hcl every command runs in: ATLAS_ENV, or "local". CI and
 * the deploy workflow set ATLAS_ENV=ci.
 */
export const atlasEnvName = (): string => {
  const name = process.env["ATLAS_ENV"]
  return name === undefined || name === "" ? "local" : name
}

export const atlasEnvironment = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  ATLAS_NO_UPDATE_NOTIFIER: "1",
  ATLAS_NO_UPGRADE_SUGGESTIONS: "1",
  ...extra
})

const versionOf = (output: string): ReadonlyArray<number> | undefined => {
  const match = /v(\d+)\.(\d+)\.(\d+)/.exec(output)
  return match === null ? undefined : [Number(match[1]), Number(match[2]), Number(match[3])]
}

const atLeast = (version: ReadonlyArray<number>, minimum: ReadonlyArray<number>): boolean => {
  for (let i = 0; i < minimum.length; i++) {
    if (version[i]! !== minimum[i]!) return version[i]! > minimum[i]!
  }
  return true
}

let located: string | undefined

/** The atlas executable to run, decided once per process. */
export const atlasBinary = async (): Promise<string> => {
  if (located !== undefined) return located
  const fromEnv = process.env["ATLAS_BIN"]
  if (fromEnv !== undefined && fromEnv !== "") return (located = fromEnv)
  try {
    const { stdout } = await run("atlas", ["version"], { env: atlasEnvironment(), timeout: 10_000 })
    const version = versionOf(stdout)
    if (version !== undefined && atLeast(version, versionOf(pinnedAtlasVersion)!)) return (located = "atlas")
  } catch {
    // No atlas on PATH: use the project's own build.
  }
  const built = projectFile(".bin/atlas")
  if (!existsSync(built)) throw new Error("Atlas is not installed: run `npm run setup` (it builds .bin/atlas).")
  return (located = built)
}

export interface AtlasResult {
  readonly stdout: string
  readonly stderr: string
}

/** The error of a failed Atlas run: its own output, which names no secret the caller did not pass. */
export class AtlasFailed extends Error {
  readonly output: string
  readonly exitCode: number | undefined
  constructor(args: ReadonlyArray<string>, output: string, exitCode: number | undefined) {
    super(`atlas ${args.slice(0, 2).join(" ")} failed:\n${output.trim()}`)
    this.name = "AtlasFailed"
    this.output = output
    this.exitCode = exitCode
  }
}

/** Runs atlas from the project root with the given environment variables added. */
export const atlas = async (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<AtlasResult> => {
  const binary = await atlasBinary()
  try {
    const { stdout, stderr } = await run(binary, [...args], {
      cwd: projectRoot,
      env: atlasEnvironment(env),
      maxBuffer: 64 * 1024 * 1024
    })
    return { stdout, stderr }
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; code?: number }
    throw new AtlasFailed(args, `${failure.stdout ?? ""}${failure.stderr ?? ""}`, failure.code)
  }
}
