/**
 * git, as the migration gate needs it: which commit a ref names, where a
 * branch left its base, which files a commit holds and what they said. Each
 * method runs `git` in the directory given; a question git cannot answer
 * (no such ref, not a checkout) is an answer (None, false), not an error.
 */
import { Context, Effect, Layer, Option, Schema, Stream } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { ChildProcess, ChildProcessSpawner } from "effect/process"

/** git could not be run at all. */
export class GitError extends Schema.TaggedError<GitError>()("GitError", {
  message: Schema.String
}) {}

export interface GitService {
  /** Whether `directory` is inside a git work tree (false when git is missing). */
  readonly isWorkTree: (directory: string) => Effect.Effect<boolean>
  /** The commit `ref` names, if it names one. */
  readonly resolveCommit: (directory: string, ref: string) => Effect.Effect<Option.Option<string>, GitError>
  /** The root of the work tree holding `directory`. */
  readonly topLevel: (directory: string) => Effect.Effect<string, GitError>
  /** The newest common ancestor of two commits, if they have one. */
  readonly mergeBase: (directory: string, a: string, b: string) => Effect.Effect<Option.Option<string>, GitError>
  /** Whether `ancestor` is an ancestor of (or equal to) `commit`. */
  readonly isAncestor: (directory: string, ancestor: string, commit: string) => Effect.Effect<boolean, GitError>
  /** The names of the files directly in `folder` (relative to the root) at `commit`. */
  readonly filesAt: (directory: string, commit: string, folder: string) => Effect.Effect<ReadonlyArray<string>, GitError>
  /** A file's content at `commit` (path relative to the root), if it has one. */
  readonly show: (directory: string, commit: string, file: string) => Effect.Effect<Option.Option<string>, GitError>
  /** Whether `directory` has uncommitted or untracked files. */
  readonly hasChanges: (directory: string) => Effect.Effect<boolean, GitError>
}

export class Git extends Context.Service<Git, GitService>()("control-plane-cli/Git") {
  static readonly layerNoDeps = Layer.effect(
    Git,
    Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner

      /** Runs git; its exit code and stdout (right-trimmed). */
      const git = (cwd: string, args: ReadonlyArray<string>) =>
        Effect.gen(function*() {
          const handle = yield* spawner.spawn(ChildProcess.make("git", args, { cwd, stderr: "ignore" }))
          const [stdout, code] = yield* Effect.all([Stream.mkString(Stream.decodeText(handle.stdout)), handle.exitCode], {
            concurrency: "unbounded"
          })
          return { code: Number(code), stdout: stdout.trimEnd() }
        }).pipe(
          Effect.scoped,
          Effect.mapError((error) => new GitError({ message: `git could not be run: ${error.message}` }))
        )

      const answer = (cwd: string, args: ReadonlyArray<string>) =>
        Effect.map(git(cwd, args), ({ code, stdout }) => (code === 0 ? Option.some(stdout) : Option.none()))

      const required = (cwd: string, args: ReadonlyArray<string>) =>
        Effect.flatMap(git(cwd, args), ({ code, stdout }) =>
          code === 0 ? Effect.succeed(stdout) : Effect.fail(new GitError({ message: `git ${args[0]} failed (exit code ${code})` })))

      return Git.of({
        isWorkTree: Effect.fn("Git.isWorkTree")(function*(directory) {
          const result = yield* answer(directory, ["rev-parse", "--is-inside-work-tree"]).pipe(Effect.orElseSucceed(() => Option.none()))
          return Option.getOrUndefined(result) === "true"
        }),
        resolveCommit: Effect.fn("Git.resolveCommit")(function*(directory, ref) {
          return yield* answer(directory, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])
        }),
        topLevel: Effect.fn("Git.topLevel")(function*(directory) {
          return yield* required(directory, ["rev-parse", "--show-toplevel"])
        }),
        mergeBase: Effect.fn("Git.mergeBase")(function*(directory, a, b) {
          return Option.filter(yield* answer(directory, ["merge-base", a, b]), (commit) => commit !== "")
        }),
        isAncestor: Effect.fn("Git.isAncestor")(function*(directory, ancestor, commit) {
          return Option.isSome(yield* answer(directory, ["merge-base", "--is-ancestor", ancestor, commit]))
        }),
        filesAt: Effect.fn("Git.filesAt")(function*(directory, commit, folder) {
          const listed = yield* required(directory, ["ls-tree", "--full-tree", "--name-only", commit, "--", `${folder}/`])
          return listed.split("\n").filter((line) => line !== "").map((line) => line.slice(line.lastIndexOf("/") + 1))
        }),
        show: Effect.fn("Git.show")(function*(directory, commit, file) {
          return yield* answer(directory, ["show", `${commit}:${file}`])
        }),
        hasChanges: Effect.fn("Git.hasChanges")(function*(directory) {
          return (yield* required(directory, ["status", "--porcelain", "--untracked-files=all", "--", "."])) !== ""
        })
      })
    })
  )

  static readonly layer = Git.layerNoDeps.pipe(Layer.provide(NodeServices.layer))
}
