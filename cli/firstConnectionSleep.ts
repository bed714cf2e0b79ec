import type { Plugin } from "esbuild"
import { readFile } from "node:fs/promises"

/**
 * An esbuild plugin for the CLI's bundle (build.ts), kept apart so that a
 * test can check it against the installed package without building.
 *
 * @databases/pg 6.1.0 sleeps 100 ms before the first connection of every
 * pool: its retry loop counts the attempt before testing it (`attemptCount++;
 * if (attemptCount) await sleep(attemptCount * 100)`), so even the first
 * attempt waits. A CLI command opens one pool and runs one query, so that
 * was a third of `tenants list`. The bundle waits only before a retry, as the
 * loop's comment intends; if the line changes upstream, the build says so and
 * bundles the package as it is.
 */

/** The source of ConnectionSource.js with the first attempt not sleeping, or undefined when the line is not there. */
export const withoutFirstConnectionSleep = (source: string): string | undefined => {
  const sleepy = "attemptCount++;\n            if (attemptCount) {"
  return source.includes(sleepy) ? source.replace(sleepy, "attemptCount++;\n            if (attemptCount > 1) {") : undefined
}

export const firstConnectionWithoutSleep: Plugin = {
  name: "first-connection-without-sleep",
  setup(esbuild) {
    esbuild.onLoad({ filter: /@databases[\\/]pg[\\/]lib[\\/]ConnectionSource\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8")
      const patched = withoutFirstConnectionSleep(source)
      return patched === undefined
        ? { contents: source, loader: "js", warnings: [{ text: "@databases/pg's first-connection sleep is not where it was: bundled unchanged" }] }
        : { contents: patched, loader: "js" }
    })
  }
}

