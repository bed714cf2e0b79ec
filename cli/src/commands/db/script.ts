/**
 * Commands that delegate to a script of src/schema/cli (the code behind
 * `npm run db:lint` and `npm run db:drift`), run with this same Node: the
 * script prints its own report and its exit code is kept (0 clean, 1
 * findings or failure, 2 usage error).
 */
import { fileURLToPath } from "node:url"
import { runInherited } from "../../childProcess.ts"

// `.ts` in a checkout, `.js` in the built package (dist/): the scripts sit beside this module's tree either way.
const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js"

/** `env`: settings the script needs beyond the process's environment (the CLI's own DATABASE_URL). */
export const runSchemaScript = (script: "lint" | "drift", args: ReadonlyArray<string> = [], env: Record<string, string> = {}) =>
  runInherited(process.execPath, [
    fileURLToPath(new URL(`../../schema/cli/${script}${extension}`, import.meta.url)),
    ...args
  ], { ...process.env, ...env })
