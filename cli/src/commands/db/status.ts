/** `db status`: `atlas migrate status --env local` against DATABASE_URL. */
import { Console, Effect, Schema } from "effect"
import { Command } from "effect/cli"
import { jsonFlag, printJson } from "../../output.ts"
import { withDatabaseUrl } from "./schemaTool.ts"

export const commandDbStatus = Command.make("status", { json: jsonFlag }, ({ json }) =>
  Effect.gen(function*() {
    const format = json ? ["--format", "{{ json . }}"] : []
    const { stdout } = yield* withDatabaseUrl("atlas migrate status", async (url) => {
      const [{ atlas, atlasEnvName }, { atlasUrl }] = await Promise.all([
        import("../../schema/atlas.ts"),
        import("../../schema/database.ts")
      ])
      return atlas(["migrate", "status", "--env", atlasEnvName(), ...format], { DATABASE_URL: atlasUrl(url) })
    })
    if (!json) return yield* Console.log(stdout.trimEnd())
    // Env describes the connection (host, database): not the reader's business, and kept off stdout.
    const { Env: _env, ...status } = JSON.parse(stdout) as Record<string, unknown>
    yield* printJson(Schema.Json, status as Schema.Json)
  })
).pipe(
  Command.withDescription(
    "Show which files of migrations/ DATABASE_URL has applied and which are pending (atlas migrate status --env local)."
  ),
  Command.withShortDescription("Show applied and pending migrations.")
)
