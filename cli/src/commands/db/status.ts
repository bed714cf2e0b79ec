/** `db status`: which files of migrations/ DATABASE_URL has applied. */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { databaseUrl } from "../../database.ts"
import { Engine, MigrationStatus } from "../../engine/Engine.ts"
import { jsonFlag, printJson, renderRecord } from "../../output.ts"
import { SchemaProject } from "../../schema/Project.ts"
import { configFlag, withSchemaTools } from "./tools.ts"

export const commandDbStatus = Command.make("status", { json: jsonFlag, config: configFlag }, ({ json, config }) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const status = yield* engine.migrateStatus(yield* SchemaProject, { url: yield* databaseUrl })
    if (json) return yield* printJson(MigrationStatus, status)
    const state = status.partial !== null ? "PARTIAL" : status.pending.length > 0 ? "PENDING" : "OK"
    yield* Console.log(renderRecord([
      ["Migration status", state],
      ["Current version", status.current || "none"],
      ["Next version", status.next || "none"],
      ["Applied files", String(status.applied)],
      ["Pending files", String(status.pending.length)],
      ...(status.partial === null
        ? []
        : [["Partially applied", `${status.partial.version}: ${status.partial.applied} of ${status.partial.total} statements (${status.partial.error})`] as const])
    ]))
  }).pipe(withSchemaTools(config))
).pipe(
  Command.withDescription("Show which files of migrations/ DATABASE_URL has applied and which are pending (read-only)."),
  Command.withShortDescription("Show applied and pending migrations.")
)
