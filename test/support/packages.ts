/**
 * The packages as a user gets them: `npm pack` of a package folder of this
 * repository, installed into an empty scratch project. npm prefers its cache
 * (the repository's own install filled it), so this works without a network
 * once `npm run setup` has run.
 */
import { execFile } from "node:child_process"
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import { projectFile } from "../../cli/src/schema/paths.ts"

const run = promisify(execFile)

/** npm of the project's Node (npm scripts run under it; `process.execPath` is that Node). */
const npm = (args: ReadonlyArray<string>, cwd: string) =>
  run("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd,
    env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env["PATH"] ?? ""}` },
    maxBuffer: 16 * 1024 * 1024
  })

export interface ScratchProject {
  readonly dir: string
  readonly remove: () => Promise<void>
}

/**
 * Packs `folder` (relative to the repository root: "" for the library,
 * "cli" for the CLI; prepack builds it) and installs the tarball into a new
 * empty project.
 */
export const installPacked = async (folder: string): Promise<ScratchProject> => {
  const dir = await mkdtemp(path.join(tmpdir(), "cp-install-"))
  try {
    const packs = path.join(dir, "packs")
    await mkdir(packs)
    await npm(["pack", projectFile(folder), "--pack-destination", packs], projectFile(""))
    const [tarball] = await readdir(packs)
    const project = path.join(dir, "project")
    await mkdir(project)
    await writeFile(path.join(project, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }))
    await npm(["install", "--prefer-offline", path.join(packs, tarball!)], project)
    return { dir: project, remove: () => rm(dir, { recursive: true, force: true }) }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}

/** The size of a folder's files in bytes (what `du --apparent-size` counts). */
export const folderBytes = async (folder: string): Promise<number> => {
  let total = 0
  for (const entry of await readdir(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size
  }
  return total
}
