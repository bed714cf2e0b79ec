/**
 * `npm start`: the one-command quick start. With no DATABASE_URL it starts an
 * embedded PostgreSQL on the cluster of .data/ (created on the first run,
 * reused afterwards) and leaves it running for the commands that follow
 * (`npm run stop` stops it), brings the control-plane database to the desired
 * state (cli/src/schema/apply.ts, declarative path, seeds included), lists
 * the tenants through the CLI and says what to try next.
 */
import { Console, Effect, Layer } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Engine } from "../engine/Engine.ts"
import { displayPath } from "../paths.ts"
import { SchemaProject } from "../schema/Project.ts"
import { ScratchDatabase } from "../schema/ScratchDatabase.ts"
import { redactSecrets } from "../redact.ts"
import { applyDesiredState } from "../schema/apply.ts"
import { quickStartFiles } from "./files.ts"
import { type LocalControlPlane, localControlPlane, runCli } from "./local.ts"
import { QuickStartFailed, runQuickStartMain } from "./runMain.ts"

const files = quickStartFiles()

const describeDatabase = (local: LocalControlPlane): string => {
  const database = local.database
  if (database._tag === "Environment") {
    return `the server of DATABASE_URL (${database.host}, database ${database.database})`
  }
  const what = database.created ? "new cluster in" : database.started ? "started, cluster in" : "running, cluster in"
  return `embedded PostgreSQL ${database.version} (${what} ${displayPath(database.cluster)}, 127.0.0.1:${database.port})`
}

const describeKeyRing = (local: LocalControlPlane): string => {
  switch (local.keyRing._tag) {
    case "Environment":
      return "CONTROL_PLANE_ENCRYPTION_KEYS from the environment"
    case "File":
      return `${displayPath(local.keyRing.path)} (${local.keyRing.created ? "generated" : "reused"}, mode 0600)`
    case "None":
      return "none"
  }
}

const describePlan = (changes: number): string =>
  changes === 0
    ? "already in the desired state"
    : `applied ${changes} change${changes === 1 ? "" : "s"} (declarative path: schema.hcl, then routines.hcl)`

/** The schema tools, with scratch databases on the embedded server itself when there is one. */
const schemaTools = (local: LocalControlPlane) =>
  Layer.mergeAll(
    Engine.layer,
    SchemaProject.layer,
    local.adminUrl === undefined ? ScratchDatabase.layer : ScratchDatabase.layerAt(local.adminUrl),
    NodeServices.layer
  )

const whatNext = (local: LocalControlPlane): string =>
  [
    "What next:",
    "  npm run cli -- tenants create acme --environment development          add a tenant",
    "  npm run cli -- databases register --tenant acme --from-env ACME_URL   register its database",
    "                                                                        (the connection string from $ACME_URL, or piped to stdin)",
    "  npm run cli -- tenants list                                           list them again",
    "  npm run cli -- --help                                                 every command (each has --help)",
    "  eval \"$(npm run -s env)\"                                              point a shell (examples, your program) at it",
    "  npm run example -- 01                                                 run examples/01_find-system-admin.ts",
    local.database._tag === "Embedded"
      ? `The embedded PostgreSQL keeps running for these commands; \`npm run stop\` stops it. Its data is kept in ${
        displayPath(files.root)
      }/ (stop it, then delete that folder to start over).`
      : "`npm run cli` uses the same DATABASE_URL."
  ].join("\n")

const firstLine = (error: unknown): string => {
  const text = error instanceof Error ? ((error as { output?: string }).output ?? error.message) : String(error)
  return redactSecrets(text.split("\n").map((line) => line.trim()).find((line) => line !== "") ?? "unknown failure")
}

const quickStart = Effect.gen(function*() {
  yield* Console.log("control-plane quick start")
  const local = yield* localControlPlane(files, { create: true })
  if (local === undefined) return yield* new QuickStartFailed({ message: "no database to use", exitCode: 1 })
  yield* Console.log(`  database  ${describeDatabase(local)}`)
  yield* Console.log(`  keys      ${describeKeyRing(local)}`)
  const report = yield* applyDesiredState(local.url).pipe(
    Effect.provide(schemaTools(local)),
    Effect.mapError((error) => new QuickStartFailed({ message: `applying the schema failed: ${firstLine(error)}`, exitCode: 1 }))
  )
  yield* Console.log(`  schema    ${describePlan(report.changes.length)}`)
  yield* Console.log(`  seeds     ${report.seeds.join(", ")}`)
  yield* Console.log("")
  yield* Console.log("$ control-plane tenants list")
  const code = yield* runCli(["tenants", "list"], local)
  // The CLI has printed its own error line.
  if (code !== 0) return yield* new QuickStartFailed({ message: "", exitCode: code })
  yield* Console.log("")
  yield* Console.log(whatNext(local))
})

runQuickStartMain(quickStart)
