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
import { execFile } from "node:child_process"
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import { applyMigrations } from "./apply.ts"
import { withScratchDatabase } from "./database.ts"
import { projectFile, projectRoot } from "./paths.ts"

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
const runPgSchema = async (url: string, directory: string): Promise<void> => {
  // The URL travels in the environment (the CLI reads DATABASE_URL), not in
  // argv, where any user of the machine could read it.
  await promisify(execFile)(process.execPath, [cliPath, "-d", directory, "-s", "control_plane"], {
    cwd: projectRoot,
    env: { ...process.env, DATABASE_URL: url }
  })
}

/**
 * Builds a scratch database from migrations/ on the server of `serverUrl`,
 * generates the row types into `directory` (replacing the .ts files there)
 * and drops the scratch database. Gives the file names written.
 */
export const generateRowTypes = (serverUrl: string, directory: string): Promise<ReadonlyArray<string>> =>
  withScratchDatabase(serverUrl, "cp_types", async (scratch) => {
    await applyMigrations(scratch.url)
    const raw = await mkdtemp(path.join(tmpdir(), "cp-types-"))
    try {
      await runPgSchema(scratch.url, raw)
      const files = (await readdir(raw)).filter((name) => name.endsWith(".ts")).sort()
      await rm(directory, { recursive: true, force: true })
      await mkdir(directory, { recursive: true })
      for (const file of files) {
        await writeFile(path.join(directory, file), toNodeNextEsm(await readFile(path.join(raw, file), "utf8")))
      }
      return files
    } finally {
      await rm(raw, { recursive: true, force: true })
    }
  })
