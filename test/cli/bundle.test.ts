/**
 * The CLI's bundle connects without @databases/pg's 100 ms sleep before a
 * pool's first connection (cli/firstConnectionSleep.ts): the installed
 * package still has the line the build changes, the change keeps the sleep
 * before a retry only, and the bundle holds the changed loop.
 */
import { readdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { withoutFirstConnectionSleep } from "../../cli/firstConnectionSleep.ts"
import { projectFile } from "../../cli/src/schema/paths.ts"

const installed = readFileSync(createRequire(import.meta.url).resolve("@databases/pg/lib/ConnectionSource.js"), "utf8")

describe("the bundle's first connection", () => {
  it("the installed @databases/pg sleeps before its first attempt, and the build's change sleeps before retries only", () => {
    expect(installed).toContain("if (attemptCount) {")
    const patched = withoutFirstConnectionSleep(installed)
    expect(patched).toBeDefined()
    expect(patched).toContain("if (attemptCount > 1) {")
    expect(patched).not.toContain("if (attemptCount) {")
    expect(patched!.length).toBe(installed.length + 4)
  })

  it("a source without that line is left to the build to bundle unchanged", () => {
    expect(withoutFirstConnectionSleep(installed.replace("if (attemptCount) {", "if (attemptCount > 2) {"))).toBeUndefined()
  })

  it("the bundle in cli/dist holds the loop that sleeps only before a retry", () => {
    const dist = projectFile("cli/dist")
    const bundle = readdirSync(dist).filter((file) => file.endsWith(".js")).map((file) => readFileSync(path.join(dist, file), "utf8")).join("\n")
    // Minified: `do{d++,d>1&&await new Promise(m=>setTimeout(m,d*100));...`
    expect(bundle).toMatch(/(\w+)\+\+,\1>1&&await new Promise\((\w+)=>setTimeout\(\2,\1\*100\)\)/)
    expect(bundle).not.toMatch(/(\w+)\+\+,\1&&await new Promise\((\w+)=>setTimeout\(\2,\1\*100\)\)/)
  })
})
