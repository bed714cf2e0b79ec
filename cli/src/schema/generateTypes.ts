/**
 * `npm run db:types`: the TypeScript row types of src/db/generated/, generated
 * by @databases/pg-schema-cli from a scratch database that the migrations
 * built, so they follow schema.hcl through the reviewed migration files.
 *
 * The generator writes CommonJS-style modules (`import X from '../../../src/db/tenants'`,
 * `export default Tenants`). Under NodeNext ESM with verbatimModuleSyntax an
 * import needs an extension and, naming only types, must be type-only, and an
 * interface cannot be a default export: toNodeNextEsm rewrites both. The
 * generator's options (jsonb as `unknown`, no schema.json) are in
 * package.json under "pg".
 */
import { Effect, FileSystem, type Redacted, Schema, Stream } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import path from "node:path"
import { applyMigrations } from "./apply.ts"
import { projectFile, projectRoot } from "./paths.ts"
import { ScratchDatabase } from "./ScratchDatabase.ts"

/** pg-schema failed to generate the row types. */
export class RowTypesFailed extends Schema.TaggedError<RowTypesFailed>()("RowTypesFailed", {
  message: Schema.String
}) {}

/** Where the committed row types live. */
export const generatedDirectory = projectFile("src/db/generated")

const cliPath = projectFile("node_modules/@databases/pg-schema-cli/lib/cli.js")

const postProcessedNote = " * Post-processed by cli/src/schema/generateTypes.ts: type-only imports and exports, .ts extensions (NodeNext ESM)."

// `import Default, {A, B} from '../../../src/db/file'`, `import {A} from '../../../src/db/file'` or `import Default from '../../../src/db/file'`.
const relativeImport = /^import\s+([A-Za-z_$][\w$]*)?\s*,?\s*(?:\{([^}]*)\})?\s*from\s+'(\.{1,2}\/[^']+)';?$/gm

/** Rewrites one generated file so it compiles under NodeNext ESM with verbatimModuleSyntax. */
export const toNodeNextEsm = (source: string): string =>
  source
    .replace(relativeImport, (_line, defaultName: string | undefined, named: string | undefined, from: string) => {
      const names = [
        ...(defaultName === undefined ? [] : [`default as ${defaultName}`]),
        ...(named ?? "").split(",").map((name) => name.trim()).filter((name) => name !== "")
      ]
      return `import type { ${names.join(", ")} } from '${from}.ts'`
    })
    // An interface cannot be a default export under verbatimModuleSyntax.
    .replace(/^export default ([A-Za-z_$][\w$]*);$/gm, "export type { $1 as default }")
    .replace(/^( \* Checksum: .*)$/m, `$1\n${postProcessedNote}`)

/** Runs pg-schema on `url`'s control_plane schema, writing into `directory`. */
const runPgSchema = (url: Redacted.Redacted<string>, directory: string) =>
  Effect.gen(function*() {
    const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
    // The URL travels in the environment (the CLI reads DATABASE_URL), not in
    // argv, where any user of the machine could read it.
    const handle = yield* spawner.spawn(
      ChildProcess.make(process.execPath, [cliPath, "-d", directory, "-s", "control_plane"], {
        cwd: projectRoot,
        env: { DATABASE_URL: url },
        extendEnv: true,
        stdout: "ignore"
      })
    )
    const [stderr, code] = yield* Effect.all([Stream.mkString(Stream.decodeText(handle.stderr)), handle.exitCode], {
      concurrency: "unbounded"
    })
    if (code !== 0) {
      return yield* new RowTypesFailed({ message: `pg-schema failed (exit code ${code}): ${stderr.trim().split("\n")[0] ?? ""}` })
    }
  }).pipe(
    Effect.scoped,
    Effect.catchTag("PlatformError", (error) => Effect.fail(new RowTypesFailed({ message: `pg-schema could not be run: ${error.message}` })))
  )

/**
 * Builds a scratch database from migrations/ on the scratch-database server,
 * generates the row types into `directory` (replacing the .ts files there)
 * and drops the scratch database. Gives the file names written.
 */
export const generateRowTypes = Effect.fn("generateRowTypes")(function*(directory: string) {
  const scratch = yield* ScratchDatabase
  const fs = yield* FileSystem.FileSystem
  return yield* Effect.scoped(
    Effect.gen(function*() {
      const database = yield* scratch.make("cp_types")
      yield* applyMigrations(database.url)
      const raw = yield* fs.makeTempDirectoryScoped({ prefix: "cp-types-" })
      yield* runPgSchema(database.url, raw)
      const files = (yield* fs.readDirectory(raw)).filter((name) => name.endsWith(".ts")).sort()
      yield* fs.remove(directory, { recursive: true, force: true })
      yield* fs.makeDirectory(directory, { recursive: true })
      for (const file of files) {
        yield* fs.writeFileString(path.join(directory, file), toNodeNextEsm(yield* fs.readFileString(path.join(raw, file))))
      }
      return files
    })
  )
})
