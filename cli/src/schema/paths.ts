import { fileURLToPath } from "node:url"
import path from "node:path"

/** The repository root: this file lives in cli/src/schema/. */
export const projectRoot = fileURLToPath(new URL("../../../", import.meta.url))

/** An absolute path to a file of the project, given relative to its root. */
export const projectFile = (relative: string): string => path.join(projectRoot, relative)
