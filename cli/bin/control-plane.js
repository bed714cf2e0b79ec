#!/usr/bin/env node
// The `control-plane` command. The CLI needs Node >= 22.19: this launcher,
// written to run on any Node, starts it under the project's own Node 24
// (node_modules/.bin/node, installed by `npm run setup`) when there is one,
// else under the current Node if it is recent enough, and passes the exit
// code and signals through. In a checkout it runs the TypeScript sources
// (cli/src/main.ts, as Node 24 can); in the installed package, the build
// (dist/main.js), since Node does not strip types under node_modules.
import { spawn } from "node:child_process"
import { existsSync, realpathSync } from "node:fs"
import { constants } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(realpathSync(fileURLToPath(import.meta.url))), "..")
const source = join(root, "src", "main.ts")
const main = existsSync(source) ? source : join(root, "dist", "main.js")
// The project's Node 24: in the checkout's node_modules (a workspace's
// packages are installed at the repository root), else in the package's own.
const nodeName = process.platform === "win32" ? "node.cmd" : "node"
const bundled = [join(root, "..", "node_modules", ".bin", nodeName), join(root, "node_modules", ".bin", nodeName)].find(existsSync)

const recentEnough = (version) => {
  const [major, minor] = version.replace(/^v/, "").split(".").map(Number)
  return major > 22 || (major === 22 && minor >= 19)
}

let node
if (bundled !== undefined) node = bundled
else if (recentEnough(process.version)) node = process.execPath
else {
  process.stderr.write(
    `error: control-plane needs Node >= 22.19 (this is ${process.version}); run \`npm run setup\` in ${root} to install Node 24 next to it\n`
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
