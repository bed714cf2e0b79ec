/**
 * `npm start`: the one-command quick start. With no DATABASE_URL it starts an
 * embedded PostgreSQL on the cluster in .data/ (created on the first run,
 * reused afterwards), brings the control-plane database to the desired state
 * (cli/src/schema/apply.ts, declarative path, seeds included), lists the tenants
 * through the CLI and says what to try next. The embedded server is stopped
 * when the command ends, whether it succeeded, failed or was interrupted.
 */
import { Console, Effect, Layer } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Engine } from "../engine/Engine.ts"
import { applyDesiredState } from "../schema/apply.ts"
import { SchemaProject } from "../schema/Project.ts"
import { ScratchDatabase } from "../schema/ScratchDatabase.ts"
import { runCli } from "../run.ts"
import { redactSecrets } from "../redact.ts"
import { quickStartFiles } from "./files.ts"
import { displayPath, type LocalControlPlane, localControlPlane } from "./local.ts"
import { runQuickStartMain, QuickStartFailed } from "./runMain.ts"

const files = quickStartFiles()

const describeDatabase = (local: LocalControlPlane): string => {
  const database = local.database
  if (database._tag === "Environment") {
    return `the server of DATABASE_URL (${database.host}, database ${database.database})`
  }
  const what = database.created ? "new cluster in" : "reusing the cluster in"
  return `embedded PostgreSQL ${database.version} (${what} ${displayPath(files.cluster)}, 127.0.0.1:${database.port})`
}

const describeKeyRing = (local: LocalControlPlane): string => {
  switch (local.keyRing._tag) {
    case "Environment":
      return "CONTROL_PLANE_ENCRYPTION_KEYS from the environment"
    case "File":
      return `${displayPath(files.keyRing)} (${local.keyRing.created ? "generated" : "reused"}, mode 0600)`
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

const whatNext = (local: LocalControlPlane): string => {
  const embedded = local.database._tag === "Embedded"
  return [
    "What next:",
    "  npm run cli -- tenants create acme --environment development          add a tenant",
    "  npm run cli -- databases register --tenant acme --from-env ACME_URL   register its database",
    "                                                                        (the connection string from $ACME_URL, or piped to stdin)",
    "  npm run cli -- tenants list                                           list them again",
    "  npm run cli -- --help                                                 every command (each has --help)",
    "  npm start                                                             run this again: the data is kept",
    embedded
      ? `The embedded server is stopped again; \`npm run cli\` starts it for each command. Its data is in ${displayPath(files.root)}/ (delete it to start over).`
      : "`npm run cli` uses the same DATABASE_URL."
  ].join("\n")
}

const quickStart = Effect.gen(function*() {
  yield* Console.log("control-plane quick start")
  const local = yield* localControlPlane(files, { createIfMissing: true })
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
  const code = yield* Effect.promise(() => runCli(["tenants", "list"]))
  // The CLI has printed its own error line.
  if (code !== 0) return yield* new QuickStartFailed({ message: "", exitCode: code })
  yield* Console.log("")
  yield* Console.log(whatNext(local))
}).pipe(Effect.scoped)

const firstLine = (error: unknown): string => {
  const text = error instanceof Error ? ((error as { output?: string }).output ?? error.message) : String(error)
  return redactSecrets(text.split("\n").map((line) => line.trim()).find((line) => line !== "") ?? "unknown failure")
}

runQuickStartMain(quickStart)
