/**
 * `control-plane keys rotate|status` in-process (the progress bar on a real terminal): connection strings
 * registered under one key are re-encrypted under a new primary key, still
 * reveal the same plaintext, and the old key can then be retired. A summary
 * line when not on a terminal, a progress bar on one.
 */
import { sql } from "@databases/pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { withConnection } from "../support/testDatabase.ts"
import { createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"
import { expectOneErrorLine, makeCli, runInTerminal, testKeyRing } from "./harness.ts"

let database: TestDatabase
const rings = testKeyRing(["2026-01", "2026-06"], "2026-01")
const [oldKey, newKey] = rings.keys as [{ id: string; key: string }, { id: string; key: string }]
const oldOnly = { CONTROL_PLANE_ENCRYPTION_KEYS: `${oldKey.id}:${oldKey.key}`, CONTROL_PLANE_PRIMARY_KEY_ID: oldKey.id }
const both = { CONTROL_PLANE_ENCRYPTION_KEYS: `${oldKey.id}:${oldKey.key},${newKey.id}:${newKey.key}`, CONTROL_PLANE_PRIMARY_KEY_ID: newKey.id }
const newOnly = { CONTROL_PLANE_ENCRYPTION_KEYS: `${newKey.id}:${newKey.key}`, CONTROL_PLANE_PRIMARY_KEY_ID: newKey.id }
const connectionStrings = Array.from({ length: 5 }, (_, i) => `postgres://app${i}:s3cret-rotation-${i}@db${i}.example/tenant_${i}`)
const serverAdmin = "postgres://admin:s3cret-server-admin@pg-rotating.example:5432/postgres"
const secrets = [...connectionStrings, ...connectionStrings.map((_, i) => `s3cret-rotation-${i}`), serverAdmin, "s3cret-server-admin", oldKey.key, newKey.key]

let cli: (env: Record<string, string>) => ReturnType<typeof makeCli>
const ids: Array<string> = []

beforeAll(async () => {
  database = await createMigratedTestDatabase("cli_keys")
  cli = (env) => makeCli({ DATABASE_URL: database.url, ...env }, secrets)
  expect((await cli(oldOnly).run(["tenants", "create", "rotating", "-e", "production"])).code).toBe(0)
  for (const connectionString of connectionStrings) {
    const result = await cli(oldOnly).run(["databases", "register", "-t", "rotating", "--json"], { stdin: connectionString })
    expect(result.code, result.stderr).toBe(0)
    ids.push((JSON.parse(result.stdout) as { id: string }).id)
  }
  // A database server's admin connection string is encrypted under the ring too.
  const server = await cli(oldOnly).run(["servers", "add", "pg-rotating", "--max-databases", "5"], { stdin: serverAdmin })
  expect(server.code, server.stderr).toBe(0)
})
afterAll(() => database?.drop())

const keyIdsInTable = async (): Promise<Array<string>> =>
  ((await withConnection(database.url, (db) =>
    db.query(sql`SELECT split_part(connection_string_encrypted, ':', 2) AS key_id FROM control_plane.tenant_databases ORDER BY id`)
  )) as Array<{ key_id: string }>).map((row) => row.key_id)

describe("keys", () => {
  it("status lists the ring and what each key encrypts", async () => {
    const result = await cli(both).run(["keys", "status"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^KEY\s+ROLE\s+DATABASES\s+SERVERS$/m)
    expect(result.stdout).toMatch(/^2026-01\s+decrypt only\s+5\s+1$/m)
    expect(result.stdout).toMatch(/^2026-06\s+primary\s+0\s+0$/m)
  })

  it("rotate re-encrypts every connection string under the primary key; without a terminal, one summary line", async () => {
    const result = await cli(both).run(["keys", "rotate", "--batch-size", "2"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toBe(
      "Re-encrypted 5 connection strings under key 2026-06; 0 were already under it (5 in all).\n" +
        "Re-encrypted 1 database server admin connection string too.\n"
    )
    expect(result.stderr).toBe("")
    expect(await keyIdsInTable()).toEqual(Array(5).fill("2026-06"))
  })

  it("the old key can be retired: every connection string reveals the same plaintext under the new key alone", async () => {
    const status = await cli(both).run(["keys", "status", "--json"])
    expect(JSON.parse(status.stdout)).toEqual({
      primaryKeyId: "2026-06",
      keys: [
        { keyId: "2026-01", primary: false, inRing: true, databases: 0, servers: 0 },
        { keyId: "2026-06", primary: true, inRing: true, databases: 5, servers: 1 }
      ]
    })
    for (const [i, id] of ids.entries()) {
      const result = await cli(newOnly).run(["databases", "reveal", id], {
        stdoutMayShow: [connectionStrings[i]!, `s3cret-rotation-${i}`]
      })
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout.trim()).toBe(connectionStrings[i])
    }
  })

  it("a second rotate finds nothing to do (--json)", async () => {
    const result = await cli(both).run(["keys", "rotate", "--json"])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({ primaryKeyId: "2026-06", total: 5, alreadyCurrent: 5, reencrypted: 0, servers: 0, droppedKeyIds: [] })
  })

  it("on a terminal, rotate draws a progress bar that reaches 100%", async () => {
    const back = { ...both, CONTROL_PLANE_PRIMARY_KEY_ID: oldKey.id }
    const run = await runInTerminal({ DATABASE_URL: database.url, ...back }, ["keys", "rotate", "--batch-size", "1"], {
      waitFor: /$^/,
      keys: ""
    })
    expect(run.code, run.screen).toBe(0)
    expect(run.screen).toMatch(/\r\[#{30}\] 5\/5 \(100%\)/)
    expect(run.screen).toMatch(/Re-encrypted 5 connection strings under key 2026-01/)
    expect(await keyIdsInTable()).toEqual(Array(5).fill("2026-01"))
  })

  it("status shows rows under a key the ring lacks; rotate then fails on them with exit 1", async () => {
    const status = await cli(newOnly).run(["keys", "status"])
    expect(status.stdout).toMatch(/^2026-01\s+NOT IN RING\s+5\s+1$/m)
    expectOneErrorLine(await cli(newOnly).run(["keys", "rotate"]), 1, /2026-01/)
    expect(await keyIdsInTable()).toEqual(Array(5).fill("2026-01"))
  })

  it("a malformed key ring is a usage error naming the variable, never the key", async () => {
    const result = await cli({ CONTROL_PLANE_ENCRYPTION_KEYS: `2026-01:${oldKey.key.slice(4)}`, CONTROL_PLANE_PRIMARY_KEY_ID: "2026-01" }).run([
      "keys",
      "rotate"
    ])
    expectOneErrorLine(result, 2, /CONTROL_PLANE_ENCRYPTION_KEYS: key "2026-01"/)
    expect(result.stderr).not.toContain(oldKey.key.slice(4))
    expectOneErrorLine(await cli({ ...both, CONTROL_PLANE_PRIMARY_KEY_ID: "2027-01" }).run(["keys", "rotate"]), 2, /names key "2027-01"/)
  })

  it("--batch-size out of range is a usage error", async () => {
    expectOneErrorLine(await cli(both).run(["keys", "rotate", "--batch-size", "0"]), 2, /Invalid re-encryption options: .*at \["batchSize"\]/)
  })
})
