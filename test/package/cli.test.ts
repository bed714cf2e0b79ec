/**
 * The CLI as an operator installs it: `npm pack ./cli` (prepack bundles it),
 * installed into an empty project. Its `control-plane` runs the bundle, needs
 * nothing from this repository, and says in one sentence where the commands
 * it cannot run there work.
 */
import { execFile } from "node:child_process"
import { readFile } from "node:fs/promises"
import path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { installPacked, type ScratchProject } from "../support/packages.ts"
import { createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"

const execute = promisify(execFile)
let project: ScratchProject
let database: TestDatabase

beforeAll(async () => {
  ;[project, database] = await Promise.all([installPacked("cli"), createMigratedTestDatabase("package_cli")])
}, 180_000)
afterAll(async () => {
  await project?.remove()
  await database?.drop()
})

/** Runs the installed bin with the project's Node first on PATH, as `npx control-plane` would. */
const controlPlane = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  execute(path.join(project.dir, "node_modules", ".bin", "control-plane"), args, {
    cwd: project.dir,
    env: { PATH: `${path.dirname(process.execPath)}:${process.env["PATH"] ?? ""}`, ...env }
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr })
  )

describe("the packed CLI", () => {
  it("ships the bundle and the launcher only, with the external packages as its dependencies", async () => {
    const manifest = JSON.parse(await readFile(path.join(project.dir, "node_modules/control-plane-cli/package.json"), "utf8"))
    expect(manifest.bin).toEqual({ "control-plane": "bin/control-plane.js" })
    expect(Object.keys(manifest.dependencies)).not.toContain("effect")
    const result = await controlPlane(["--version"])
    expect(result).toEqual({ code: 0, stdout: "control-plane 0.1.0\n", stderr: "" })
  })

  it("runs a command against a database", async () => {
    const result = await controlPlane(["tenants", "list", "--json"], { DATABASE_URL: database.url })
    expect(result.code, result.stderr).toBe(0)
    expect((JSON.parse(result.stdout) as { tenants: Array<{ name: string }> }).tenants.map((t) => t.name)).toEqual(["system_admin"])
  })

  it("a db command says in one sentence where it works (exit 2)", async () => {
    const result = await controlPlane(["db", "status"], { DATABASE_URL: database.url })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^error: the db commands need a clone of the control-plane repository .*npm run cli -- db/)
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1)
  })
})
