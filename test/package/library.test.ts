/**
 * The library as a backend program gets it: `npm pack` of the repository
 * root (prepare compiles it to dist/), installed into an empty project. The
 * install stays small (effect and the driver only), plain Node imports its
 * build, and the README's "Use it in your backend" program runs there as
 * written, against a real database.
 */
import { execFile } from "node:child_process"
import { readFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { projectFile } from "../../cli/src/schema/paths.ts"
import { testKeyRing } from "../cli/harness.ts"
import { folderBytes, installPacked, type ScratchProject } from "../support/packages.ts"
import { createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"

const run = promisify(execFile)
let project: ScratchProject
let database: TestDatabase

/** The first ```ts block under the README's "## Use it in your backend". */
const backendExample = async (): Promise<string> => {
  const readme = await readFile(projectFile("README.md"), "utf8")
  const section = readme.slice(readme.indexOf("## Use it in your backend"))
  const match = /```ts\n([\s\S]*?)```/.exec(section)
  if (match === null) throw new Error("README: no ts block under 'Use it in your backend'")
  return match[1]!
}

beforeAll(async () => {
  ;[project, database] = await Promise.all([installPacked(""), createMigratedTestDatabase("package_library")])
}, 180_000)
afterAll(async () => {
  await project?.remove()
  await database?.drop()
})

const runProgram = (env: Record<string, string>) =>
  run(process.execPath, ["app.ts"], { cwd: project.dir, env: { PATH: process.env["PATH"] ?? "", ...env } })

describe("the packed library", () => {
  it("installs with its dependencies only: effect and the driver (@databases/pg, and pg under it), at most 75 MB", async () => {
    const manifest = JSON.parse(await readFile(path.join(project.dir, "node_modules/control-plane/package.json"), "utf8"))
    // pg is the driver @databases/pg installs anyway, declared at that version
    // because TenantConnections' listener uses it directly (LISTEN): no extra weight.
    expect(Object.keys(manifest.dependencies).sort()).toEqual(["@databases/pg", "effect", "pg"])
    const megabytes = (await folderBytes(path.join(project.dir, "node_modules"))) / 1024 / 1024
    expect(megabytes).toBeLessThanOrEqual(75)
  })

  it("exports the services, the layers and the errors from its build, with types, to plain Node", async () => {
    const manifest = JSON.parse(await readFile(path.join(project.dir, "node_modules/control-plane/package.json"), "utf8"))
    expect(manifest.exports["."]).toEqual({ types: "./dist/index.d.ts", import: "./dist/index.js" })
    const probe = `
      const lib = await import("control-plane")
      console.log(JSON.stringify({ names: Object.keys(lib).sort(), layer: typeof lib.ControlPlane.layer }))`
    // Node does not strip types under node_modules: this loads the compiled JavaScript.
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", probe], { cwd: project.dir })
    const result = JSON.parse(stdout) as { names: Array<string>; layer: string }
    expect(result.layer).toBe("object")
    expect(result.names).toEqual(expect.arrayContaining([
      "ControlPlane", "Tenants", "TenantDatabases", "SystemConfig", "TenantNotFound", "TenantNameTaken",
      "InvalidInput", "DbError", "DatabaseConfigError", "KeyRingError", "DecryptionFailed", "TenantStatus",
      "TenantEnvironment", "DatabaseStatus", "TenantConnections", "TenantConnectionsConfigError", "TenantNotActive",
      "NoActiveDatabase", "ConnectionBudgetExhausted", "IllegalTransition", "SystemTenantProtected"
    ]))
    expect(await readFile(path.join(project.dir, "node_modules/control-plane/dist/index.d.ts"), "utf8")).toMatch(/ControlPlane/)
  })

  it("runs the README's backend program as written: creates acme, then finds it", async () => {
    await writeFile(path.join(project.dir, "app.ts"), await backendExample())
    const env = { DATABASE_URL: database.url, ...testKeyRing().env }
    const first = await runProgram(env)
    expect(first.stdout).toMatch(/INFO .*acme is pending and has 0 database\(s\)/)
    const second = await runProgram(env)
    expect(second.stdout).toMatch(/acme is pending and has 0 database\(s\)/)
    expect(`${first.stderr}${second.stderr}`).toBe("")
  })

  it("reports a missing DATABASE_URL through its catchTags: a sentence naming the variable, not [object Object]", async () => {
    await writeFile(path.join(project.dir, "app.ts"), await backendExample())
    const result = await runProgram(testKeyRing().env)
    const output = result.stdout + result.stderr
    expect(output).toMatch(/ERROR .*: DATABASE_URL is not set: set it to the connection string of the control-plane database\n/)
    expect(output).not.toContain("[object Object]")
  })
})
