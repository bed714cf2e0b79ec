/**
 * The `control-plane` executable (bin/control-plane.js loads it in-process,
 * or under the project's Node when the current one is too old; the checkout's
 * npm scripts run its bundle, cli/dist/main.js). The program is program.ts.
 *
 * Node's compile cache is turned on first, so that a second run skips
 * compiling the CLI's modules (it halves the start of the sources, and saves
 * a fifth of the bundle's); it covers only modules loaded after it, hence the
 * dynamic import.
 */
import module from "node:module"

module.enableCompileCache?.()
await import("./program.ts")
