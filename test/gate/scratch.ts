/**
 * Scratch copies of the project's migration directory (and, for db:diff, of
 * schema.hcl), in a temporary folder of their own, so that a test can add a
 * migration and run the gate on it without touching the project.
 */
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { atlas } from "../../cli/src/schema/atlas.ts"
import { projectFile } from "../../cli/src/schema/paths.ts"

export interface ScratchProject {
  /** The folder holding migrations/ (and schema.hcl). */
  readonly root: string
  /** The scratch migrations/ directory. */
  readonly directory: string
  /** Writes migration files into it and re-hashes atlas.sum, as a developer would. */
  readonly add: (files: Record<string, string>) => Promise<void>
  readonly remove: () => Promise<void>
}

/** Re-hashes atlas.sum of a migration directory. */
export const hash = async (directory: string): Promise<void> => {
  await atlas(["migrate", "hash", "--dir", `file://${directory}`])
}

export const scratchProject = async (label: string): Promise<ScratchProject> => {
  const root = await mkdtemp(path.join(tmpdir(), `cp-gate-${label}-`))
  const directory = path.join(root, "migrations")
  await cp(projectFile("migrations"), directory, { recursive: true })
  await cp(projectFile("schema.hcl"), path.join(root, "schema.hcl"))
  return {
    root,
    directory,
    add: async (files) => {
      for (const [name, text] of Object.entries(files)) await writeFile(path.join(directory, name), text)
      await hash(directory)
    },
    remove: () => rm(root, { recursive: true, force: true })
  }
}
