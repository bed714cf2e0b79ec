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
import { Config, Effect, FileSystem, Option, Schema } from "effect"
import path from "node:path"
import { Git } from "../Git.ts"

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

/** An explicitly named base branch does not resolve to a commit. */
export class UnknownBaseBranch extends Schema.TaggedError<UnknownBaseBranch>()("UnknownBaseBranch", {
  message: Schema.String
}) {}

/** The migration files of a directory, in version order (what the engine replays). */
export const migrationFiles = (directory: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    return (yield* fs.readDirectory(directory)).filter((name) => name.endsWith(".sql")).sort()
  })

/** The base refs to try when none is named: the pull request's base on GitHub (GITHUB_BASE_REF), else main. */
const defaultBases = Effect.map(
  Config.option(Config.String("GITHUB_BASE_REF")).pipe(Effect.orElseSucceed(() => Option.none<string>())),
  (fromGitHub) =>
    Option.match(Option.filter(fromGitHub, (ref) => ref !== ""), {
      onSome: (ref) => [`origin/${ref}`, ref],
      onNone: () => ["origin/main", "main"]
    })
)

const latest = (files: ReadonlyArray<string>, count: number, why: string): ChangedFiles => {
  const firstNew = Math.max(0, files.length - count)
  return {
    files,
    firstNew,
    edited: [],
    description: `${why}: checking the latest ${files.length - firstNew} of ${files.length} migration files`
  }
}

const changedAgainst = (directory: string, files: ReadonlyArray<string>, base: string, baseCommit: string) =>
  Effect.gen(function*() {
    const git = yield* Git
    const fs = yield* FileSystem.FileSystem
    const root = yield* git.topLevel(directory)
    const relative = path.relative(root, directory).split(path.sep).join("/")
    // Compare with where this branch left the base, when the history has it.
    const commit = Option.getOrElse(yield* git.mergeBase(directory, "HEAD", baseCommit), () => baseCommit)
    const inBase = new Set(yield* git.filesAt(directory, commit, relative))
    const firstNew = files.findIndex((file) => !inBase.has(file))
    const edited: Array<string> = []
    for (const file of files.filter((f) => inBase.has(f))) {
      const before = yield* git.show(directory, commit, `${relative}/${file}`)
      const now = (yield* fs.readFileString(path.join(directory, file))).trim()
      if (Option.isSome(before) && before.value.trim() !== now) edited.push(file)
    }
    const newCount = firstNew === -1 ? 0 : files.length - firstNew
    const changes: ChangedFiles = {
      files,
      firstNew: firstNew === -1 ? files.length : firstNew,
      edited,
      description: `against ${base} (${commit.slice(0, 12)}): ${newCount} new of ${files.length} migration files`
    }
    return changes
  })

/** True when HEAD is the base commit itself or behind it, and the directory has no uncommitted files. */
const onBase = (directory: string, baseCommit: string) =>
  Effect.gen(function*() {
    const git = yield* Git
    const head = yield* git.resolveCommit(directory, "HEAD")
    if (Option.isNone(head)) return false
    const contained = head.value === baseCommit || (yield* git.isAncestor(directory, head.value, baseCommit))
    return contained && !(yield* git.hasChanges(directory))
  })

/** Chooses the files to check under `selection`. */
export const changedFiles = Effect.fn("changedFiles")(function*(directory: string, selection: Selection) {
  const git = yield* Git
  const files = yield* migrationFiles(directory)
  switch (selection.kind) {
    case "all":
      return { files, firstNew: 0, edited: [], description: `checking all ${files.length} migration files` }
    case "latest":
      return latest(files, selection.latest, `--latest ${selection.latest}`)
    case "git-base": {
      const commit = yield* git.resolveCommit(directory, selection.base)
      if (Option.isNone(commit)) {
        return yield* new UnknownBaseBranch({ message: `git base ${selection.base} does not resolve to a commit here` })
      }
      return yield* changedAgainst(directory, files, selection.base, commit.value)
    }
    case "auto": {
      if (!(yield* git.isWorkTree(directory))) return latest(files, selection.latest, "not a git checkout")
      const bases = yield* defaultBases
      for (const base of bases) {
        const commit = yield* git.resolveCommit(directory, base)
        if (Option.isNone(commit)) continue
        if (yield* onBase(directory, commit.value)) return latest(files, selection.latest, `HEAD is ${base} itself`)
        return yield* changedAgainst(directory, files, base, commit.value)
      }
      return latest(files, selection.latest, `no base branch (${bases.join(", ")}) in this clone`)
    }
  }
})
