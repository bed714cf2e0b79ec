/** Paths as the user sees them. */
import path from "node:path"

/** A path as the user would type it from the current directory. */
export const displayPath = (file: string): string => {
  const relative = path.relative(process.cwd(), file)
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : file
}
