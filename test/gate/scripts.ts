/** Runs the schema scripts (cli/src/schema/cli/*.ts) as processes, as npm would. */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { projectFile } from "../../cli/src/schema/paths.ts"
import { adminUrl } from "../support/testDatabase.ts"

const run = promisify(execFile)

export interface Outcome {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs src/schema/cli/<name>.ts with this Node (24), its scratch databases on
 * the test server. A variable given as undefined is removed from the environment.
 */
export const script = async (name: string, args: ReadonlyArray<string>, env: Record<string, string | undefined> = {}): Promise<Outcome> => {
  const environment: Record<string, string | undefined> = { ...process.env, CONTROL_PLANE_ADMIN_URL: adminUrl(), ...env }
  for (const [key, value] of Object.entries(environment)) if (value === undefined) delete environment[key]
  try {
    const { stdout, stderr } = await run(process.execPath, [projectFile(`cli/src/schema/cli/${name}.ts`), ...args], {
      cwd: projectFile("."),
      env: environment
    })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string }
    return { code: failure.code ?? -1, stdout: failure.stdout ?? "", stderr: failure.stderr ?? "" }
  }
}

