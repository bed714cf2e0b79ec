/**
 * Which migration files are new, and so must pass the gate.
 *
 * Against a base branch: every file of the directory (committed or not) that
 * the base's tree does not hold. Like `atlas migrate lint --git-base`, the
 * first new file and everything after it are checked, since Atlas assumes a
 * linear history. Without a usable base (no git, a shallow clone without the
 * branch, or HEAD being the base itself) the latest N files are checked, as
 * `atlas migrate lint --latest N` does.
 */
import { execFile } from "node:child_process"
import { readdir, readFile } from "node:fs/promises"
import path from "node:path"
import { promisify } from "node:util"

const run = promisify(execFile)

/** How to choose the files to check. */
export type Selection =
  | { readonly kind: "auto"; readonly latest: number }
  | { readonly kind: "git-base"; readonly base: string }
  | { readonly kind: "latest"; readonly latest: number }
  | { readonly kind: "all" }

export interface ChangedFiles {
  /** Every migration file of the directory, in version order. */
  readonly files: ReadonlyArray<string>
  /** Index into `files` of the first file to check; `files.length` when none is new. */
  readonly firstNew: number
  /** Files the base holds whose content changed since: reviewed history must not be edited. */
  readonly edited: ReadonlyArray<string>
  /** One line saying how the files were chosen, for the report. */
  readonly description: string
}

/** Thrown when an explicitly named base branch does not exist. */
export class UnknownBaseBranch extends Error {}

/** The migration files of a directory, in version order (what Atlas replays). */
export const migrationFiles = async (directory: string): Promise<ReadonlyArray<string>> =>
  (await readdir(directory)).filter((name) => name.endsWith(".sql")).sort()

const git = async (cwd: string, args: ReadonlyArray<string>): Promise<string | undefined> => {
  try {
    const { stdout } = await run("git", [...args], { cwd, maxBuffer: 16 * 1024 * 1024 })
    return stdout.trim()
  } catch {
    return undefined
  }
}

const resolveCommit = (cwd: string, ref: string): Promise<string | undefined> =>
  git(cwd, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])

/** The base refs to try when none is named: the pull request's base on GitHub, else main. */
const defaultBases = (): ReadonlyArray<string> => {
  const fromGitHub = process.env["GITHUB_BASE_REF"]
  return fromGitHub !== undefined && fromGitHub !== ""
    ? [`origin/${fromGitHub}`, fromGitHub]
    : ["origin/main", "main"]
}

const latest = (files: ReadonlyArray<string>, count: number, why: string): ChangedFiles => {
  const firstNew = Math.max(0, files.length - count)
  return {
    files,
    firstNew,
    edited: [],
    description: `${why}: checking the latest ${files.length - firstNew} of ${files.length} migration files`
  }
}

const changedAgainst = async (
  directory: string,
  files: ReadonlyArray<string>,
  base: string,
  baseCommit: string
): Promise<ChangedFiles> => {
  const root = (await git(directory, ["rev-parse", "--show-toplevel"]))!
  const relative = path.relative(root, directory).split(path.sep).join("/")
  // Compare with where this branch left the base, when the history has it.
  const commit = (await git(directory, ["merge-base", "HEAD", baseCommit])) || baseCommit
  const listed = await git(directory, ["ls-tree", "--full-tree", "--name-only", commit, "--", `${relative}/`])
  const inBase = new Set((listed ?? "").split("\n").filter((p) => p !== "").map((p) => path.posix.basename(p)))
  const firstNew = files.findIndex((file) => !inBase.has(file))
  const edited: Array<string> = []
  for (const file of files.filter((f) => inBase.has(f))) {
    const before = await git(directory, ["show", `${commit}:${relative}/${file}`])
    const now = (await readFile(path.join(directory, file), "utf8")).trim()
    if (before !== undefined && before !== now) edited.push(file)
  }
  const newCount = firstNew === -1 ? 0 : files.length - firstNew
  return {
    files,
    firstNew: firstNew === -1 ? files.length : firstNew,
    edited,
    description: `against ${base} (${commit.slice(0, 12)}): ${newCount} new of ${files.length} migration files`
  }
}

/** True when HEAD is the base commit itself or behind it, and the directory has no uncommitted files. */
const onBase = async (directory: string, baseCommit: string): Promise<boolean> => {
  const head = await resolveCommit(directory, "HEAD")
  if (head === undefined) return false
  const contained = head === baseCommit || (await git(directory, ["merge-base", "--is-ancestor", head, baseCommit])) !== undefined
  const untracked = await git(directory, ["status", "--porcelain", "--untracked-files=all", "--", "."])
  return contained && (untracked ?? "") === ""
}

/** Chooses the files to check under `selection`. */
export const changedFiles = async (directory: string, selection: Selection): Promise<ChangedFiles> => {
  const files = await migrationFiles(directory)
  switch (selection.kind) {
    case "all":
      return { files, firstNew: 0, edited: [], description: `checking all ${files.length} migration files` }
    case "latest":
      return latest(files, selection.latest, `--latest ${selection.latest}`)
    case "git-base": {
      const commit = await resolveCommit(directory, selection.base)
      if (commit === undefined) throw new UnknownBaseBranch(`git base ${selection.base} does not resolve to a commit here`)
      return changedAgainst(directory, files, selection.base, commit)
    }
    case "auto": {
      if ((await git(directory, ["rev-parse", "--is-inside-work-tree"])) !== "true") {
        return latest(files, selection.latest, "not a git checkout")
      }
      for (const base of defaultBases()) {
        const commit = await resolveCommit(directory, base)
        if (commit === undefined) continue
        if (await onBase(directory, commit)) return latest(files, selection.latest, `HEAD is ${base} itself`)
        return changedAgainst(directory, files, base, commit)
      }
      return latest(files, selection.latest, `no base branch (${defaultBases().join(", ")}) in this clone`)
    }
  }
}
