/**
 * The CLI as an operator runs it, a process started through
 * cli/bin/control-plane.js: exit codes reach the shell, output reaches the
 * real stdout and stderr, and no secret reaches either. The other CLI tests
 * run the same commands in-process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"
import { expectOneErrorLine, makeCliProcess, testKeyRing } from "./harness.ts"

let database: TestDatabase
const ring = testKeyRing()
const tenantUrl = "postgres://acme_app:s3cret-process-test@db.acme.internal:6432/acme"

beforeAll(async () => {
  database = await createMigratedTestDatabase("cli_process")
})
afterAll(() => database?.drop())

describe("control-plane as a process", () => {
  it("--help and --version: exit 0 on stdout, without any configuration", async () => {
    const cli = makeCliProcess({})
    const help = await cli.run(["tenants", "list", "--help"])
    expect(help.code).toBe(0)
    expect(help.stderr).toBe("")
    expect(help.stdout).toContain("USAGE\n  control-plane tenants list")
    const version = await cli.run(["--version"])
    expect(version.stdout).toMatch(/^control-plane \d+\.\d+\.\d+\n$/)
  })

  it("a usage error is exit 2 and one line on stderr", async () => {
    expectOneErrorLine(await makeCliProcess({}).run(["tenant"]), 2, /Unknown subcommand "tenant"/)
  })

  it("register, list and reveal: the connection string reaches stdout only when revealed", async () => {
    const cli = makeCliProcess({ DATABASE_URL: database.url, ...ring.env }, [tenantUrl, "s3cret-process-test"])
    expect((await cli.run(["tenants", "create", "acme", "-e", "production"])).code).toBe(0)
    const registered = await cli.run(["databases", "register", "--tenant", "acme", "--json"], { stdin: tenantUrl })
    expect(registered.code, registered.stderr).toBe(0)
    const { id } = JSON.parse(registered.stdout) as { id: string }
    const listed = await cli.run(["databases", "list", "--tenant", "acme"])
    expect(listed.code).toBe(0)
    expect(listed.stdout).toContain(id)
    const revealed = await cli.run(["databases", "reveal", id], { stdoutMayShow: [tenantUrl, "s3cret-process-test"] })
    expect(revealed.code).toBe(0)
    expect(revealed.stdout === `${tenantUrl}\n`, "reveal prints the connection string alone").toBe(true)
  })

  it("output that cannot be written is exit 1 with one error line: a new key printed to a full disk is not delivered", async () => {
    const result = await makeCliProcess({}).run(["keys", "add", "lost"], { stdoutFile: "/dev/full" })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^error: the output could not be written \(ENOSPC\)$/m)
  })

  it("a domain error is exit 1; an invalid DATABASE_URL is exit 2 without its value", async () => {
    expectOneErrorLine(await makeCliProcess({ DATABASE_URL: database.url }).run(["tenants", "show", "nobody"]), 1, /No tenant is named "nobody"/)
    const badUrl = "postgres://operator:pa55word-not-shown@[::1"
    const result = await makeCliProcess({ DATABASE_URL: badUrl }, [badUrl, "pa55word-not-shown"]).run(["tenants", "list"])
    expectOneErrorLine(result, 2, /DATABASE_URL is invalid/)
    // URLs that parse, but that the driver refuses: an sslmode it does not know, a malformed escape.
    for (const [refused, reason] of [
      ["postgres://operator:pa55word-not-shown@127.0.0.1:5432/cp?sslmode=bogus", /DATABASE_URL is invalid: Expected "sslmode" to be one of/],
      ["postgres://operator:pa55word%ZZnot-shown@127.0.0.1:5432/cp", /DATABASE_URL is invalid: URI malformed$/]
    ] as const) {
      const refusal = await makeCliProcess({ DATABASE_URL: refused }, [refused, "pa55word"]).run(["tenants", "list"])
      expectOneErrorLine(refusal, 2, reason)
    }
  })
})
