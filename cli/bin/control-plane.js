#!/usr/bin/env node
// The `control-plane` command. The CLI needs Node >= 22.19. Installed from
// its package, it is the bundle in dist/ (`npm run build -w cli`), loaded
// into this very process. In a checkout it is the TypeScript sources
// (src/main.ts), loaded the same way when this Node strips types, else run
// under the project's own Node 24 (node_modules/.bin/node, from `npm run
// setup`), passing the exit code and signals through. Written to run on any
// Node, so that an old one gets a sentence instead of a syntax error.
import { spawn } from "node:child_process"
import { existsSync, realpathSync } from "node:fs"
import module from "node:module"
import { constants } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = join(dirname(realpathSync(fileURLToPath(import.meta.url))), "..")
const source = join(root, "src", "main.ts")
const inCheckout = existsSync(source)
const main = inCheckout ? source : join(root, "dist", "main.js")

const recentEnough = (version) => {
  const [major, minor] = version.replace(/^v/, "").split(".").map(Number)
  return major > 22 || (major === 22 && minor >= 19)
}
const stripsTypes = process.features.typescript === "strip" || process.features.typescript === "transform"

if (recentEnough(process.version) && (!inCheckout || stripsTypes)) {
  // Compiled code is cached on disk, so a second run skips parsing the bundle.
  module.enableCompileCache?.()
  await import(pathToFileURL(main).href)
} else if (inCheckout) {
  // The checkout's Node 24: a workspace's packages are installed at the repository root.
  const nodeName = process.platform === "win32" ? "node.cmd" : "node"
  const node = [join(root, "..", "node_modules", ".bin", nodeName), join(root, "node_modules", ".bin", nodeName)].find(existsSync)
  if (node === undefined) {
    process.stderr.write(
      `error: control-plane needs Node >= 22.19 (this is ${process.version}); run \`npm run setup\` in ${join(root, "..")} to install Node 24 next to it\n`
    )
    process.exit(2)
  }
  const child = spawn(node, [main, ...process.argv.slice(2)], { stdio: "inherit" })
  // Signals reach the child (which stops cleanly on any number of them); its exit code is ours.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal))
  child.on("error", (error) => {
    process.stderr.write(`error: could not start ${node}: ${error.message}\n`)
    process.exit(1)
  })
  child.on("exit", (code, signal) => {
    process.exit(signal !== null ? 128 + (constants.signals[signal] ?? 1) : (code ?? 1))
  })
} else {
  process.stderr.write(`error: control-plane needs Node >= 22.19 (this is ${process.version}): install Node 22.19 or newer\n`)
  process.exit(2)
}
