/**
 * Runs the project's npm scripts the way a person does, from a clone's root,
 * with a controlled environment: nothing of the test process's own
 * DATABASE_URL or CONTROL_PLANE_* settings leaks in.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

/** This repository's root. */
export const repository = fileURLToPath(new URL("../../", import.meta.url))

export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs an npm script in `cwd` (the repository root by default), as the README says, with a controlled environment. */
export const npm = (args: ReadonlyArray<string>, env: Record<string, string>, options: { stdin?: string; cwd?: string } = {}): Promise<Run> =>
  new Promise((resolve, reject) => {
    const base = { ...process.env }
    for (const name of Object.keys(base)) {
      if (name === "DATABASE_URL" || name.startsWith("CONTROL_PLANE_") || name.startsWith("npm_")) delete base[name]
    }
    const child = spawn("npm", ["--silent", ...args], {
      cwd: options.cwd ?? repository,
      env: { ...base, NO_COLOR: "1", ATLAS_NO_UPDATE_NOTIFIER: "1", ...env },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(options.stdin ?? "")
  })

