/** `db lint`: the migration safety gate, as `npm run db:lint`. */
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import path from "node:path"
import { UsageError } from "../../failure.ts"
import { defaultLatest, formatGateReport, runGate, type Selection } from "../../schema/lint.ts"
import { SchemaProject } from "../../schema/Project.ts"
import { configFlag, SchemaCheckFailed, withSchemaTools } from "./tools.ts"

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
    config: configFlag
  },
  ({ gitBase, latest, all, config }) =>
    Effect.gen(function*() {
      const chosen = [Option.isSome(gitBase), Option.isSome(latest), all].filter(Boolean).length
      if (chosen > 1) return yield* new UsageError({ message: "--git-base, --latest and --all exclude each other" })
      if (Option.isSome(latest) && latest.value < 1) {
        return yield* new UsageError({ message: "--latest needs a whole number of files, at least 1" })
      }
      const selection: Selection = Option.isSome(gitBase)
        ? { kind: "git-base", base: gitBase.value }
        : Option.isSome(latest)
        ? { kind: "latest", latest: latest.value }
        : all
        ? { kind: "all" }
        : { kind: "auto", latest: defaultLatest }
      const report = yield* runGate(selection).pipe(
        Effect.catchTag("UnknownBaseBranch", (error) => Effect.fail(new UsageError({ message: error.message })))
      )
      const project = yield* SchemaProject
      yield* Console.log(formatGateReport(report, path.relative(process.cwd(), project.migrations) || "."))
      if (report.findings.length > 0) {
        return yield* new SchemaCheckFailed({ message: `the migration gate found ${report.findings.length} violation(s)` })
      }
    }).pipe(withSchemaTools(config))
).pipe(
  Command.withDescription(
    "Run the migration safety gate (the engine's migrate lint, squawk, a lock_timeout probe and marker checks) on the migration files new on this branch (or the ones chosen). Exit 0 clean, 1 on findings. Needs no login and no DATABASE_URL: it works on scratch databases of CONTROL_PLANE_ADMIN_URL."
  ),
  Command.withShortDescription("Lint new migration files.")
)
