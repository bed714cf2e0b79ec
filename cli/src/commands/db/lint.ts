/** `db lint`: the migration safety gate of `npm run db:lint`. */
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { UsageError } from "../../failure.ts"
import { runSchemaScript } from "./script.ts"

export const commandDbLint = Command.make(
  "lint",
  {
    gitBase: Flag.String("git-base").pipe(
      Flag.withMetavar("REF"),
      Flag.withDescription("Check the migration files that are new since this git ref."),
      Flag.optional
    ),
    latest: Flag.Int("latest").pipe(Flag.withDescription("Check the newest N migration files."), Flag.optional),
    all: Flag.Boolean("all").pipe(Flag.withDescription("Check every migration file."), Flag.withDefault(false)),
    dir: Flag.String("dir").pipe(Flag.withDescription("Another migration directory (default: migrations/)."), Flag.optional)
  },
  ({ gitBase, latest, all, dir }) =>
    Effect.gen(function*() {
      const chosen = [Option.isSome(gitBase), Option.isSome(latest), all].filter(Boolean).length
      if (chosen > 1) return yield* new UsageError({ message: "--git-base, --latest and --all exclude each other" })
      const args = [
        ...Option.match(gitBase, { onNone: () => [], onSome: (ref) => ["--git-base", ref] }),
        ...Option.match(latest, { onNone: () => [], onSome: (n) => ["--latest", String(n)] }),
        ...(all ? ["--all"] : []),
        ...Option.match(dir, { onNone: () => [], onSome: (path) => ["--dir", path] })
      ]
      yield* runSchemaScript("lint", args)
    })
).pipe(
  Command.withDescription(
    "Run the migration safety gate (Atlas migrate lint, squawk, a lock_timeout probe and marker checks) on the migration files new on this branch, as `npm run db:lint`. Exit 0 clean, 1 on findings."
  ),
  Command.withShortDescription("Lint new migration files.")
)
