/**
 * `control-plane config ...` in-process (a failing stdin in a subprocess): JSON values in and out, bad
 * JSON or a bad key exits 2 with nothing written, a missing key exits 1.
 */
import { sql } from "@databases/pg"
import { spawn } from "node:child_process"
import { once } from "node:events"
import net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { withConnection } from "../support/testDatabase.ts"
import { createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"
import { type CliResult, expectOneErrorLine, expectUnchanged, launcher, makeCli } from "./harness.ts"

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

/**
 * Runs the CLI with stdin a TCP socket whose other end sends `sent`, then
 * resets the connection: the CLI's read fails with ECONNRESET, a real I/O
 * error that a pipe or file cannot produce.
 */
const runWithResetStdin = async (args: ReadonlyArray<string>, sent: string): Promise<CliResult> => {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  try {
    const accepted = once(server, "connection") as Promise<[net.Socket]>
    const stdin = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1")
    await once(stdin, "connect")
    const [peer] = await accepted
    const inherited = Object.entries(process.env).filter(([name]) => name !== "DATABASE_URL" && !name.startsWith("CONTROL_PLANE_"))
    const env: NodeJS.ProcessEnv = { ...Object.fromEntries(inherited), NO_COLOR: "1", DATABASE_URL: database.url }
    const child = spawn(process.execPath, [launcher, ...args], { env, stdio: [stdin, "pipe", "pipe"] })
    stdin.destroy() // the child holds its own copy
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const closed = once(child, "close") as Promise<[number | null]>
    peer.write(sent)
    setTimeout(() => peer.resetAndDestroy(), 200)
    const [code] = await closed
    return { code, stdout, stderr }
  } finally {
    server.close()
  }
}

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

  it("set - a stdin that fails mid-read (connection reset) is one error line, exit 1, nothing written", async () => {
    await expectNothingWritten(async () => {
      const result = await runWithResetStdin(["config", "set", "from.broken.stdin", "-"], '{"half": ')
      expectOneErrorLine(result, 1, /^error: stdin could not be read \(ECONNRESET\): nothing was written$/)
    })
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

  it("a number JSON cannot hold exactly, or arrays nested too deep: a usage error, and nothing is written", async () => {
    await expectNothingWritten(async () => {
      for (const value of ["12345678901234567890", "[1, -90071992547409930]"]) {
        expectOneErrorLine(await cli.run(["config", "set", "big", value]), 2, /an integer beyond ±9007199254740991, .*give it as a string/)
      }
      for (const depth of [101, 5_000]) {
        const nested = "[".repeat(depth) + "]".repeat(depth)
        expectOneErrorLine(await cli.run(["config", "set", "deep", "-"], { stdin: nested }), 2, /nests arrays and objects more than 100 deep/)
      }
    })
    const kept = await cli.run(["config", "set", "edge", "[9007199254740991, 1e21, 0.1]"])
    expect(kept.code, kept.stderr).toBe(0)
    expect(JSON.parse((await cli.run(["config", "get", "edge", "--json"])).stdout).value).toEqual([9007199254740991, 1e21, 0.1])
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
    const json = JSON.parse((await cli.run(["config", "list", "--json"])).stdout) as { entries: Array<{ key: string; value: unknown; updatedAt: string }> }
    expect(json.entries.find((e) => e.key === "long.value")?.value).toEqual(long)
    expect(new Date(json.entries[0]!.updatedAt).getTime()).not.toBeNaN()
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
