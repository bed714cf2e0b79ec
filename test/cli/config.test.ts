/**
 * `control-plane config ...` as a subprocess: JSON values in and out, bad
 * JSON or a bad key exits 2 with nothing written, a missing key exits 1.
 */
import { sql } from "@databases/pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { withConnection } from "../../src/schema/database.ts"
import { createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"
import { expectOneErrorLine, expectUnchanged, makeCli } from "./harness.ts"

let database: TestDatabase
let cli: ReturnType<typeof makeCli>

beforeAll(async () => {
  database = await createMigratedTestDatabase("cli_config")
  cli = makeCli({ DATABASE_URL: database.url })
})
afterAll(() => database?.drop())

const stored = (): Promise<ReadonlyArray<{ key: string; value: unknown }>> =>
  withConnection(database.url, (db) => db.query(sql`SELECT key, value FROM control_plane.system_config ORDER BY key`)) as Promise<
    ReadonlyArray<{ key: string; value: unknown }>
  >

/** Runs `use` and checks the system_config table is exactly as before. */
const expectNothingWritten = (use: () => Promise<void>) => expectUnchanged(stored, use)

describe("config set / get", () => {
  it("stores any JSON value and gives it back", async () => {
    const values: Record<string, unknown> = {
      "billing.plan": "pro",
      "limits.tenants": 250,
      "maintenance": { window: "sun 02:00", enabled: true, regions: ["eu", "us"] },
      "feature.flag": false,
      "nothing": null
    }
    for (const [key, value] of Object.entries(values)) {
      const result = await cli.run(["config", "set", key, JSON.stringify(value)])
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).toMatch(new RegExp(`^Set ${key.replace(".", "\\.")} = `))
    }
    expect(Object.fromEntries((await stored()).map((row) => [row.key, row.value]))).toEqual(values)
    for (const key of ["billing.plan", "maintenance", "nothing"]) {
      const result = await cli.run(["config", "get", key])
      expect(result.code, result.stderr).toBe(0)
      expect(JSON.parse(result.stdout)).toEqual(values[key])
    }
    const json = await cli.run(["config", "get", "maintenance", "--json"])
    expect(JSON.parse(json.stdout)).toEqual({ key: "maintenance", value: values["maintenance"] })
  })

  it("set replaces a value; --json prints the entry", async () => {
    const result = await cli.run(["config", "set", "billing.plan", '"enterprise"', "--json"])
    expect(result.code, result.stderr).toBe(0)
    const entry = JSON.parse(result.stdout) as { key: string; value: unknown; updatedAt: string }
    expect(entry).toMatchObject({ key: "billing.plan", value: "enterprise" })
    expect(new Date(entry.updatedAt).getTime()).not.toBeNaN()
  })

  it("set - reads the value from stdin", async () => {
    const result = await cli.run(["config", "set", "from.stdin", "-"], { stdin: '{"a": [1, 2]}\n' })
    expect(result.code, result.stderr).toBe(0)
    expect((await stored()).find((row) => row.key === "from.stdin")?.value).toEqual({ a: [1, 2] })
  })

  it("bad JSON is a usage error (exit 2) that does not echo the value, and nothing is written", async () => {
    await expectNothingWritten(async () => {
      for (const value of ["pro", "{oops", "'single'", ""]) {
        const result = await cli.run(["config", "set", "billing.plan", value])
        expectOneErrorLine(result, 2, value === "" ? /the value is empty/ : /the value is not valid JSON/)
        if (value.length > 2) expect(result.stderr).not.toContain(value)
      }
      expectOneErrorLine(await cli.run(["config", "set", "x", "-"], { stdin: "not json" }), 2, /not valid JSON/)
    })
  })

  it("a bad key is a usage error, nothing written", async () => {
    await expectNothingWritten(async () => {
      expectOneErrorLine(await cli.run(["config", "set", " spaced ", "1"]), 2, /Invalid configuration key: must not start or end with whitespace/)
      expectOneErrorLine(await cli.run(["config", "set", "k".repeat(256), "1"]), 2, /at most 255 characters/)
    })
  })

  it("get of a missing key is exit 1", async () => {
    expectOneErrorLine(await cli.run(["config", "get", "no.such.key"]), 1, /No configuration entry has the key "no\.such\.key"/)
  })
})

describe("config list / unset", () => {
  it("list prints a table by key, long values shortened; --json gives them whole", async () => {
    const long = { text: "x".repeat(200) }
    await cli.run(["config", "set", "long.value", JSON.stringify(long)])
    const result = await cli.run(["config", "list"])
    expect(result.code, result.stderr).toBe(0)
    const lines = result.stdout.trimEnd().split("\n")
    expect(lines[0]).toMatch(/^KEY\s+VALUE\s+UPDATED$/)
    expect(lines.slice(1).map((line) => line.split(/\s+/)[0])).toEqual((await stored()).map((row) => row.key))
    expect(result.stdout).toMatch(/long\.value\s+\{"text":"x+…\s/)
    const json = JSON.parse((await cli.run(["config", "list", "--json"])).stdout) as Array<{ key: string; value: unknown }>
    expect(json.find((e) => e.key === "long.value")?.value).toEqual(long)
  })

  it("unset removes the key; unsetting it again is exit 1", async () => {
    const result = await cli.run(["config", "unset", "feature.flag"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.trim()).toBe("Removed feature.flag.")
    expect((await stored()).some((row) => row.key === "feature.flag")).toBe(false)
    expectOneErrorLine(await cli.run(["config", "unset", "feature.flag"]), 1, /No configuration entry has the key "feature\.flag"/)
  })

  it("list on an empty table says so", async () => {
    await withConnection(database.url, (db) => db.query(sql`DELETE FROM control_plane.system_config`))
    const result = await cli.run(["config", "list"])
    expect(result.stdout.trim()).toBe("No configuration entries.")
  })
})
