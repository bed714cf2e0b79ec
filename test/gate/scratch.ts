/**
 * Scratch copies of the project (atlas.hcl, schema.hcl, .squawk.toml, seeds/
 * and migrations/), in a temporary folder of their own, so that a test can
 * add a migration or change schema.hcl and run the tools on it without
 * touching the project.
 */
import { Effect } from "effect"
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { Engine } from "../../cli/src/engine/Engine.ts"
import { projectFile } from "../../cli/src/schema/paths.ts"
import { projectAt } from "../../cli/src/schema/Project.ts"
import { runTools } from "../support/schemaTools.ts"

export interface ScratchProject {
  /** The folder holding atlas.hcl. */
  readonly root: string
  /** Its migrations/ directory. */
  readonly directory: string
  /** Writes migration files into it and re-hashes atlas.sum, as a developer would. */
  readonly add: (files: Record<string, string>) => Promise<void>
  readonly remove: () => Promise<void>
}

/** Re-hashes atlas.sum of the project in `root`. */
export const hash = (root: string): Promise<unknown> =>
  runTools(
    Effect.gen(function*() {
      const engine = yield* Engine
      return yield* engine.migrateHash(projectAt(root))
    }),
    root
  )

export const scratchProject = async (label: string): Promise<ScratchProject> => {
  const root = await mkdtemp(path.join(tmpdir(), `cp-gate-${label}-`))
  const directory = path.join(root, "migrations")
  for (const entry of ["atlas.hcl", "schema.hcl", "routines.hcl", ".squawk.toml", "seeds", "migrations"]) {
    await cp(projectFile(entry), path.join(root, entry), { recursive: true })
  }
  return {
    root,
    directory,
    add: async (files) => {
      for (const [name, text] of Object.entries(files)) await writeFile(path.join(directory, name), text)
      await hash(root)
    },
    remove: () => rm(root, { recursive: true, force: true })
  }
}
