/**
 * What a backend program imports is the compiled package (`npm run build`,
 * dist/), not the TypeScript sources: Node does not strip types under
 * node_modules. This builds it into a scratch folder and imports it with plain
 * Node, as a consumer would.
 */
import { execFile } from "node:child_process"
import { readFile, rm } from "node:fs/promises"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"
import { projectFile } from "../../cli/src/schema/paths.ts"

const run = promisify(execFile)
const outDir = projectFile(".build-test")

afterAll(async () => {
  await rm(outDir, { recursive: true, force: true })
})

describe("the built package", () => {
  it("compiles with the build config and exports the services, the layer and the errors", async () => {
    await run(process.execPath, [projectFile("node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json", "--outDir", outDir], {
      cwd: projectFile("")
    })
    const probe = `
      const lib = await import(${JSON.stringify(`${outDir}/index.js`)})
      console.log(JSON.stringify({
        names: Object.keys(lib).sort(),
        layer: typeof lib.ControlPlane.layer
      }))`
    const { stdout } = await run(process.execPath, ["--no-experimental-strip-types", "--input-type=module", "-e", probe])
    const result = JSON.parse(stdout)
    expect(result.layer).toBe("object")
    expect(result.names).toEqual(expect.arrayContaining([
      "ControlPlane", "Tenants", "TenantDatabases", "SystemConfig", "TenantNotFound", "TenantNameTaken",
      "InvalidInput", "DbError", "DecryptionFailed", "TenantStatus", "TenantEnvironment", "DatabaseStatus"
    ]))
    expect(await readFile(`${outDir}/index.d.ts`, "utf8")).toMatch(/ControlPlane/)
  })

  it("points package.json's export at the build output", async () => {
    const manifest = JSON.parse(await readFile(projectFile("package.json"), "utf8"))
    expect(manifest.exports["."]).toEqual({ types: "./dist/index.d.ts", import: "./dist/index.js" })
  })
})
