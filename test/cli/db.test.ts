/**
 * `control-plane db ...` as a subprocess: the schema tools run in the CLI's
 * own process against a test database of this file, and failures are one
 * line with the right exit code, without the URL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase, withConnection } from "../support/testDatabase.ts"
import { dbCli } from "../support/schemaTools.ts"
import { sql } from "@databases/pg"
import { expectOneErrorLine } from "./harness.ts"

let database: TestDatabase
let cli: ReturnType<typeof dbCli>

beforeAll(async () => {
  database = await createTestDatabase("cli_db")
  cli = dbCli({ DATABASE_URL: database.url })
})
afterAll(() => database?.drop())

const tenantNames = () =>
  withConnection(database.url, (db) => db.query(sql`SELECT name FROM control_plane.tenants ORDER BY name`))

describe("control-plane db", () => {
  it("--config that names no file, or a folder, is a usage error naming it", async () => {
    const cases = [
      [["db", "status", "--config", "/nonexistent/atlas.hcl"], /--config "\/nonexistent\/atlas.hcl": no such file$/],
      [["db", "apply", "--config", "/tmp"], /--config "\/tmp" is not a file: give the project's atlas.hcl$/],
      [["db", "drift", "--config", ""], /--config "" is not a file/]
    ] as const
    for (const [args, message] of cases) expectOneErrorLine(await cli.run([...args]), 2, message)
  })

  it("status on an empty database reports every migration as pending", async () => {
    const result = await cli.run(["db", "status"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/Migration status:\s+PENDING/)
    expect(result.stdout).toMatch(/Applied files:\s+0/)
  })

  it("migrate applies migrations/ and seeds system_admin", async () => {
    const result = await cli.run(["db", "migrate"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/Applied \d{14} create_control_plane/)
    expect(result.stdout).toMatch(/file\(s\) applied, now at version \d{14}/)
    expect(await tenantNames()).toEqual([{ name: "system_admin" }])
  })

  it("status --json is machine-readable, says nothing is pending and leaves out the connection", async () => {
    const result = await cli.run(["db", "status", "--json"])
    expect(result.code, result.stderr).toBe(0)
    const status = JSON.parse(result.stdout) as Record<string, unknown>
    expect(status["pending"]).toEqual([])
    expect(status["partial"]).toBeNull()
    expect(status["current"]).toMatch(/^\d{14}$/)
    expect(Object.keys(status).sort()).toEqual(["applied", "current", "next", "partial", "pending"])
  })

  it("migrate a second time has nothing to do", async () => {
    const result = await cli.run(["db", "migrate"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/nothing to apply/i)
  })

  it("apply (declarative) on the migrated database finds it in the desired state", async () => {
    const result = await cli.run(["db", "apply"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/already in the desired state/i)
    expect(result.stdout).toMatch(/Seeds: 001_system_admin\.sql/)
    expect(await tenantNames()).toEqual([{ name: "system_admin" }])
  })

  it("apply --json prints the report", async () => {
    const result = await cli.run(["db", "apply", "--json"])
    expect(result.code, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout) as { changes: Array<unknown>; seeds: Array<string>; routines: Array<string> }
    expect(report.changes).toEqual([])
    expect(report.seeds).toEqual(["001_system_admin.sql"])
    expect(report.routines).toContain("update_updated_at_column")
  })

  it("drift on the migrated database: exit 0 and its report", async () => {
    const result = await cli.run(["db", "drift"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/no drift/i)
  })

  it("drift after a change made by hand: exit 1 with the report and one error line", async () => {
    await withConnection(database.url, (db) => db.query(sql`ALTER TABLE control_plane.tenants ADD COLUMN added_by_hand integer`))
    const result = await cli.run(["db", "drift"])
    expect(result.stdout).toContain("added_by_hand")
    expectOneErrorLine(result, 1, /has drifted from the desired state/)
    await withConnection(database.url, (db) => db.query(sql`ALTER TABLE control_plane.tenants DROP COLUMN added_by_hand`))
  })

  it("lint --latest 1 checks the newest migration and passes", async () => {
    const result = await cli.run(["db", "lint", "--latest", "1"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^migration gate: --latest 1/)
  })

  it("lint with two selections is a usage error", async () => {
    expectOneErrorLine(await cli.run(["db", "lint", "--all", "--latest", "2"]), 2, /--git-base, --latest and --all exclude each other/)
  })
})

describe("control-plane db: failures", () => {
  it("without DATABASE_URL it exits 2 saying so", async () => {
    const result = await cli.run(["db", "status"], { env: { DATABASE_URL: undefined } })
    expectOneErrorLine(result, 2, /DATABASE_URL is not set/)
  })

  it("with a DATABASE_URL that is not a URL it exits 2", async () => {
    const result = await cli.run(["db", "migrate"], { env: { DATABASE_URL: "not a url" } })
    expectOneErrorLine(result, 2, /DATABASE_URL is not a valid PostgreSQL URL/)
  })

  it("an unreachable server is a one-line failure (exit 1) that never shows the URL", async () => {
    const url = "postgres://operator:hunter2-very-secret@127.0.0.1:1/control_plane"
    const result = await dbCli({ DATABASE_URL: url }, [url, "hunter2-very-secret"]).run(["db", "status"])
    expectOneErrorLine(result, 1, /refused the connection or cannot be reached/)
  })

  it("an unknown subcommand is a usage error", async () => {
    expectOneErrorLine(await cli.run(["db", "explode"]), 2, /Unknown subcommand "explode".*see: control-plane db --help/)
  })

  it("--help works without any configuration", async () => {
    const result = await cli.run(["db", "status", "--help"], { env: { DATABASE_URL: undefined } })
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/USAGE\s+control-plane db status/)
    expect(result.stderr).toBe("")
  })
})
