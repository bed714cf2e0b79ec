/**
 * `control-plane databases ...` in-process (the terminal prompt in a real one): registering reads the
 * connection string from stdin or --from-env only, nothing but `reveal` ever
 * prints it, bad input exits 2 and writes nothing.
 */
import { sql } from "@databases/pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { withConnection } from "../support/testDatabase.ts"
import { createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"
import { expectOneErrorLine, expectUnchanged, makeCli, runInTerminal, testKeyRing } from "./harness.ts"

let database: TestDatabase
let cli: ReturnType<typeof makeCli>
const ring = testKeyRing()
const env = () => ({ DATABASE_URL: database.url, ...ring.env })

/** Connection strings handed to register: secrets that only reveal's stdout may show. */
const acmeMain = "postgres://acme_app:s3cret-acme-main@db1.acme.internal:6432/acme_main"
const acmeReports = "postgresql://reports:s3cret-acme-reports@db2.acme.internal/acme_reports?sslmode=require"
const keyValue = "host=db3.acme.internal port=5433 dbname=acme_kv user=kv password='s3cret kv'"

beforeAll(async () => {
  database = await createMigratedTestDatabase("cli_databases")
  cli = makeCli(env(), [acmeMain, acmeReports, keyValue, "s3cret-acme-main", "s3cret-acme-reports", "s3cret kv"])
  const created = await cli.run(["tenants", "create", "acme", "-e", "production", "--json"])
  expect(created.code, created.stderr).toBe(0)
})
afterAll(() => database?.drop())

interface Row {
  readonly id: string
  readonly database_name: string
  readonly host: string
  readonly port: number
  readonly status: string
  readonly connection_string_encrypted: string
}

const rows = (): Promise<ReadonlyArray<Row>> =>
  withConnection(database.url, (db) =>
    db.query(sql`SELECT id, database_name, host, port, status::text, connection_string_encrypted
                 FROM control_plane.tenant_databases ORDER BY created_at, id`)
  ) as Promise<ReadonlyArray<Row>>

/** Runs `use` and checks the tenant_databases table is exactly as before. */
const expectNothingWritten = (use: () => Promise<void>) => expectUnchanged(rows, use)

const register = async (connectionString: string, extra: ReadonlyArray<string> = []) => {
  const result = await cli.run(["databases", "register", "--tenant", "acme", "--json", ...extra], { stdin: `${connectionString}\n` })
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as { id: string; databaseName: string; host: string; port: number; status: string; keyId: string }
}

let mainId = ""

describe("databases register", () => {
  it("reads the connection string from stdin, takes host, port and name from it, stores it encrypted", async () => {
    const result = await cli.run(["databases", "register", "--tenant", "acme"], { stdin: `${acmeMain}\n` })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^database:\s+acme_main$/m)
    expect(result.stdout).toMatch(/^host:\s+db1\.acme\.internal$/m)
    expect(result.stdout).toMatch(/^port:\s+6432$/m)
    expect(result.stdout).toMatch(/^status:\s+inactive$/m)
    expect(result.stdout).toMatch(/^key:\s+test-1$/m)
    mainId = /^id:\s+(\S+)$/m.exec(result.stdout)![1]!
    const stored = (await rows()).find((r) => r.id === mainId)!
    expect(stored.connection_string_encrypted).toMatch(/^v1:test-1:/)
    expect(stored.connection_string_encrypted).not.toContain("s3cret")
  })

  it("reads it from the environment variable named by --from-env; flags override what the string says", async () => {
    const result = await cli.run(
      ["databases", "register", "-t", "acme", "--from-env", "ACME_REPORTS_URL", "--port", "5444", "--status", "active", "--json"],
      { env: { ACME_REPORTS_URL: acmeReports } }
    )
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ databaseName: "acme_reports", host: "db2.acme.internal", port: 5444, status: "active" })
  })

  it("accepts libpq key=value strings", async () => {
    expect(await register(keyValue)).toMatchObject({ databaseName: "acme_kv", host: "db3.acme.internal", port: 5433 })
  })

  it("has no flag or argument that takes the connection string itself", async () => {
    await expectNothingWritten(async () => {
      expectOneErrorLine(
        await cli.run(["databases", "register", "--tenant", "acme", acmeMain]),
        2,
        /Received unknown argument|Unexpected argument|unexpected/i
      )
      expectOneErrorLine(
        await cli.run(["databases", "register", "--tenant", "acme", "--connection-string", acmeMain]),
        2,
        /Unrecognized flag: --connection-string/
      )
    })
  })

  it("refuses, exit 2 and nothing written: empty stdin, an unset variable, not a connection string, bad port, --quiet with --json, unknown tenant", async () => {
    await expectNothingWritten(async () => {
      expectOneErrorLine(await cli.run(["databases", "register", "-t", "acme"]), 2, /no connection string on stdin/)
      expectOneErrorLine(
        await cli.run(["databases", "register", "-t", "acme", "--from-env", "NOT_SET_ANYWHERE"]),
        2,
        /environment variable NOT_SET_ANYWHERE is not set or empty/
      )
      expectOneErrorLine(
        await cli.run(["databases", "register", "-t", "acme"], { stdin: "just some words, s3cret-acme-main\n" }),
        2,
        /neither a PostgreSQL URL nor libpq key=value pairs/
      )
      expectOneErrorLine(
        await cli.run(["databases", "register", "-t", "acme", "--port", "70000"], { stdin: acmeMain }),
        2,
        /Invalid tenant database: Expected a value between 1 and 65535 at \["port"\]/
      )
      expectOneErrorLine(
        await cli.run(["databases", "register", "-t", "acme", "--status", "broken"], { stdin: acmeMain }),
        2,
        /Invalid value for flag --status/
      )
      expectOneErrorLine(
        await cli.run(["databases", "register", "-t", "acme", "--quiet", "--json"], { stdin: acmeMain }),
        2,
        /--quiet prints only the new id and --json the whole record: pass one of them/
      )
      expectOneErrorLine(await cli.run(["databases", "register", "-t", "nobody"], { stdin: acmeMain }), 1, /No tenant is named "nobody"/)
      expectOneErrorLine(
        await cli.run(["databases", "register", "-t", "acme"], { stdin: "postgres:///only_a_name" }),
        2,
        /names no host: pass --host/
      )
    })
  })

  it("without a key ring it exits 2 naming the missing setting, and writes nothing", async () => {
    await expectNothingWritten(async () => {
      expectOneErrorLine(
        await cli.run(["databases", "register", "-t", "acme"], {
          stdin: acmeMain,
          env: { CONTROL_PLANE_ENCRYPTION_KEYS: undefined }
        }),
        2,
        /CONTROL_PLANE_ENCRYPTION_KEYS is not set/
      )
    })
  })
})

describe("databases list / show / reveal", () => {
  it("list shows the tenant's databases without connection strings", async () => {
    const result = await cli.run(["databases", "list", "--tenant", "acme"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.split("\n")[0]).toMatch(/^ID\s+DATABASE\s+HOST\s+STATUS\s+KEY\s+CREATED$/)
    expect(result.stdout).toMatch(/acme_main\s+db1\.acme\.internal:6432\s+inactive\s+test-1/)
    expect(result.stdout).toMatch(/acme_reports\s+db2\.acme\.internal:5444\s+active/)
    const json = JSON.parse((await cli.run(["databases", "list", "-t", "acme", "--json"])).stdout) as {
      tenantId: string
      databases: Array<Record<string, unknown>>
    }
    expect(json.tenantId).toMatch(/^[0-9a-f-]{36}$/)
    expect(json.databases.map((d) => d["databaseName"])).toEqual(["acme_main", "acme_reports", "acme_kv"])
    for (const entry of json.databases) expect(Object.keys(entry)).not.toContain("connectionString")
  })

  it("list for a tenant without databases says so", async () => {
    await cli.run(["tenants", "create", "empty-co", "-e", "staging"])
    const result = await cli.run(["databases", "list", "-t", "empty-co"])
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toBe('No databases registered for tenant "empty-co".')
  })

  it("show prints the record, never the connection string", async () => {
    const result = await cli.run(["databases", "show", mainId])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(new RegExp(`^id:\\s+${mainId}$`, "m"))
    expect(result.stdout).toMatch(/^key:\s+test-1$/m)
    const json = JSON.parse((await cli.run(["databases", "show", mainId, "--json"])).stdout) as Record<string, unknown>
    expect(json).toMatchObject({ id: mainId, databaseName: "acme_main", keyId: "test-1" })
  })

  it("reveal prints exactly the connection string that was registered, on stdout only", async () => {
    const result = await cli.run(["databases", "reveal", mainId], { stdoutMayShow: [acmeMain, "s3cret-acme-main"] })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toBe(`${acmeMain}\n`)
    expect(result.stderr).toBe("")
    const json = await cli.run(["databases", "reveal", mainId, "--json"], { stdoutMayShow: [acmeMain, "s3cret-acme-main"] })
    expect(JSON.parse(json.stdout)).toEqual({ id: mainId, connectionString: acmeMain })
  })

  it("a bad id is exit 2, an unknown one exit 1", async () => {
    for (const command of ["show", "reveal"]) {
      expectOneErrorLine(await cli.run(["databases", command, "not-a-uuid"]), 2, /Invalid tenant database id: Expected a UUID/)
      expectOneErrorLine(
        await cli.run(["databases", command, "7f1d2c3b-4a5e-4f60-8172-93a4b5c6d7e8"]),
        1,
        /7f1d2c3b-4a5e-4f60-8172-93a4b5c6d7e8/
      )
    }
  })

  it("reveal with a key ring that lacks the key is a one-line domain error (exit 1)", async () => {
    const other = testKeyRing(["other-key"])
    const result = await cli.run(["databases", "reveal", mainId], { env: other.env })
    expectOneErrorLine(result, 1, /test-1/)
  })

  it("reveal of a row whose ciphertext was moved to another row fails to decrypt (exit 1)", async () => {
    const victim = await register("postgres://victim:s3cret-victim@db9/victim")
    await withConnection(database.url, (db) =>
      db.query(sql`UPDATE control_plane.tenant_databases
                   SET connection_string_encrypted = (SELECT connection_string_encrypted FROM control_plane.tenant_databases WHERE id = ${mainId})
                   WHERE id = ${victim.id}`)
    )
    const result = await makeCli(env(), [...cli.secrets, "s3cret-victim"]).run(["databases", "reveal", victim.id])
    expectOneErrorLine(result, 1, /does not decrypt/)
  })
})

describe("databases set-status / remove", () => {
  it("set-status changes the status; a bad status changes nothing", async () => {
    const result = await cli.run(["databases", "set-status", mainId, "migrating"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^status:\s+migrating$/m)
    await expectNothingWritten(async () => {
      expectOneErrorLine(await cli.run(["databases", "set-status", mainId, "deleted"]), 2, /Invalid value for argument <status>/)
    })
  })

  it("remove without a terminal and without --yes refuses (exit 2) and keeps the record", async () => {
    await expectNothingWritten(async () => {
      expectOneErrorLine(await cli.run(["databases", "remove", mainId]), 2, /refusing to remove the record of database "acme_main".*pass --yes/)
    })
  })

  it("remove --yes forgets the record", async () => {
    const { id } = await register("postgres://tmp:s3cret-tmp@db5/tmp_db")
    const result = await makeCli(env(), [...cli.secrets, "s3cret-tmp"]).run(["databases", "remove", id, "--yes"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.trim()).toBe(`Removed the record of database "tmp_db" on db5:5432 (${id}).`)
    expect((await rows()).some((r) => r.id === id)).toBe(false)
  })

  it("on a terminal, remove asks and answering no keeps the record (exit 1)", async () => {
    const run = await runInTerminal(env(), ["databases", "remove", mainId], { waitFor: /\(y\/N\)/, keys: "n" })
    expect(run.code).toBe(1)
    expect(run.screen).toMatch(/Remove the record of database "acme_main"/)
    expect(run.screen).toMatch(/not confirmed/)
    expect((await rows()).some((r) => r.id === mainId)).toBe(true)
  })
})
