/**
 * Commands that delegate to a script of src/schema/cli (the code behind
 * `npm run db:lint` and `npm run db:drift`), run with this same Node: the
 * script prints its own report and its exit code is kept (0 clean, 1
 * findings or failure, 2 usage error).
 */
import { projectFile } from "../../../schema/paths.ts"
import { runInherited } from "../../childProcess.ts"

export const runSchemaScript = (script: "lint" | "drift", args: ReadonlyArray<string> = []) =>
  runInherited(process.execPath, [projectFile(`src/schema/cli/${script}.ts`), ...args])
