/**
 * Commands that delegate to an npm script of the project (`npm run --silent
 * db:lint`, ...): the script prints its own report, and a failure keeps its
 * meaning (exit 1).
 */
import { runInherited } from "../../childProcess.ts"

export const runNpmScript = (script: string) => runInherited("npm", ["run", "--silent", script])
