/**
 * Every command of the tree answers --help (without any configuration), the
 * root prints its version, and usage mistakes are one line with exit 2.
 */
import { describe, expect, it } from "vitest"
import { expectOneErrorLine, makeCli } from "./harness.ts"

const cli = makeCli({})

const commands = [
  [],
  ["tenants"], ["tenants", "list"], ["tenants", "show"], ["tenants", "create"], ["tenants", "rename"],
  ["tenants", "suspend"], ["tenants", "resume"], ["tenants", "deactivate"], ["tenants", "set-status"], ["tenants", "delete"],
  ["tenants", "provision"], ["tenants", "deprovision"],
  ["databases"], ["databases", "list"], ["databases", "register"], ["databases", "show"], ["databases", "reveal"],
  ["databases", "set-status"], ["databases", "remove"],
  ["servers"], ["servers", "add"], ["servers", "list"], ["servers", "drain"],
  ["fleet"], ["fleet", "migrate"], ["fleet", "status"],
  ["config"], ["config", "get"], ["config", "set"], ["config", "unset"], ["config", "list"],
  ["keys"], ["keys", "add"], ["keys", "rotate"], ["keys", "status"],
  ["audit"], ["audit", "list"], ["audit", "verify"], ["audit", "purge"],
  ["db"], ["db", "apply"], ["db", "migrate"], ["db", "lint"], ["db", "drift"], ["db", "status"]
] as const

/** Runs `each` over `items`, `width` at a time: subprocesses are slow to start, the machine has few cores. */
const inBatches = async <A>(items: ReadonlyArray<A>, width: number, each: (item: A) => Promise<void>) => {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(each))
}

describe("help", () => {
  it("every command has --help, exit 0, on stdout, with no database configured", async () => {
    await inBatches(commands, 4, async (path) => {
      const result = await cli.run([...path, "--help"])
      expect(result.code, path.join(" ")).toBe(0)
      expect(result.stderr).toBe("")
      expect(result.stdout).toMatch(/^DESCRIPTION\n {2}\S/)
      expect(result.stdout).toContain(`USAGE\n  ${["control-plane", ...path].join(" ")}`)
    })
  })

  it("the root lists the command groups; a group alone prints its help (exit 0)", async () => {
    const root = await cli.run([])
    expect(root.code).toBe(0)
    for (const group of ["tenants", "databases", "servers", "fleet", "config", "keys", "audit", "db"]) expect(root.stdout).toMatch(new RegExp(`^ {2}${group}\\s{2,}\\S`, "m"))
    const group = await cli.run(["databases"])
    expect(group.code).toBe(0)
    expect(group.stdout).toMatch(/^ {2}register\s+Register a tenant database/m)
  })

  it("--version prints the package version", async () => {
    const result = await cli.run(["--version"])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^control-plane \d+\.\d+\.\d+\n$/)
  })

  it("usage mistakes are one line on stderr, exit 2, pointing at the right --help", async () => {
    expectOneErrorLine(await cli.run(["tenant"]), 2, /Unknown subcommand "tenant" for "control-plane" \(did you mean tenants\?\) \(see: control-plane --help\)/)
    expectOneErrorLine(await cli.run(["tenants", "list", "--colour"]), 2, /Unrecognized flag: --colour.*\(see: control-plane tenants list --help\)/)
    expectOneErrorLine(await cli.run(["tenants", "show"]), 2, /Missing required argument: tenant/)
    expectOneErrorLine(await cli.run(["tenants", "show", "a", "b"]), 2, /Unexpected positional argument/)
  })
})
