/**
 * `control-plane tenants ...` in-process against a migrated test
 * database: output and exit code of each command, bad input refused with exit
 * 2 and nothing written (checked in the table), domain errors exit 1.
 */
import { sql } from "@databases/pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createMigratedTestDatabase, createTestDatabase, type TestDatabase, withConnection } from "../support/testDatabase.ts"
import { expectOneErrorLine, expectUnchanged, makeCli } from "./harness.ts"

let database: TestDatabase
let cli: ReturnType<typeof makeCli>

beforeAll(async () => {
  database = await createMigratedTestDatabase("cli_tenants")
  cli = makeCli({ DATABASE_URL: database.url })
})
afterAll(() => database?.drop())

interface Row {
  readonly tenant_id: string
  readonly name: string
  readonly environment: string
  readonly status: string
}

const rows = (): Promise<ReadonlyArray<Row>> =>
  withConnection(database.url, (db) =>
    db.query(sql`SELECT tenant_id, name, environment::text, status::text FROM control_plane.tenants ORDER BY created_at, name`)
  ) as Promise<ReadonlyArray<Row>>

/** Runs `use` and checks the tenants table is exactly as before. */
const expectNothingWritten = (use: () => Promise<void>) => expectUnchanged(rows, use)

/** Gives the tenant an active database (by SQL: encryption is not what these tests are about). */
const addActiveDatabase = (tenant: string) =>
  withConnection(database.url, (db) =>
    db.query(sql`
      INSERT INTO control_plane.tenant_databases (tenant_id, connection_string_encrypted, database_name, host, status)
      SELECT tenant_id, 'v1:k:AAAA', 'tenant_db', 'db.internal', 'active' FROM control_plane.tenants WHERE name = ${tenant}`)
  )

/** An active database, then `tenants resume`: the tenant is active. */
const activate = async (tenant: string): Promise<void> => {
  await addActiveDatabase(tenant)
  const result = await cli.run(["tenants", "resume", tenant])
  expect(result.code, result.stderr).toBe(0)
}

const createTenant = async (name: string, environment = "development"): Promise<{ tenantId: string }> => {
  const result = await cli.run(["tenants", "create", name, "--environment", environment, "--json"])
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as { tenantId: string }
}

describe("tenants create", () => {
  it("creates a pending tenant and prints it as a record", async () => {
    const result = await cli.run(["tenants", "create", "acme", "--environment", "staging"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^id:\s+[0-9a-f-]{36}$/m)
    expect(result.stdout).toMatch(/^name:\s+acme$/m)
    expect(result.stdout).toMatch(/^environment:\s+staging$/m)
    expect(result.stdout).toMatch(/^status:\s+pending$/m)
    expect(result.stderr).toBe("")
    expect((await rows()).filter((r) => r.name === "acme")).toMatchObject([{ environment: "staging", status: "pending" }])
  })

  it("--json: the JSON record of the new tenant", async () => {
    const result = await cli.run(["tenants", "create", "Müller GmbH", "-e", "production", "--json"])
    expect(result.code, result.stderr).toBe(0)
    const tenant = JSON.parse(result.stdout) as Record<string, unknown>
    expect(tenant).toMatchObject({ name: "Müller GmbH", environment: "production", status: "pending" })
    expect(tenant["tenantId"]).toMatch(/^[0-9a-f-]{36}$/)
    expect(new Date(tenant["createdAt"] as string).getTime()).not.toBeNaN()
  })

  it("a taken name is a domain error: exit 1, one line, nothing written", async () => {
    await expectNothingWritten(async () => {
      expectOneErrorLine(await cli.run(["tenants", "create", "acme", "-e", "development"]), 1, /A tenant named "acme" already exists/)
    })
  })

  it("an invalid name is a usage error: exit 2 saying what is wrong, nothing written", async () => {
    await expectNothingWritten(async () => {
      expectOneErrorLine(await cli.run(["tenants", "create", " padded", "-e", "development"]), 2, /Invalid tenant: must not start or end with whitespace at \["name"\]/)
      expectOneErrorLine(await cli.run(["tenants", "create", "x".repeat(256), "-e", "development"]), 2, /must be at most 255 characters/)
      expectOneErrorLine(await cli.run(["tenants", "create", "tab\there", "-e", "development"]), 2, /control characters/)
    })
  })

  it("a bad enum value or a missing flag is a usage error naming the choices", async () => {
    await expectNothingWritten(async () => {
      expectOneErrorLine(
        await cli.run(["tenants", "create", "beta", "-e", "qa"]),
        2,
        /Invalid value for flag --environment: "qa"\. Expected: "development" \| "staging" \| "production" \(see: control-plane tenants create --help\)/
      )
      expectOneErrorLine(await cli.run(["tenants", "create", "beta"]), 2, /Missing required flag: --environment/)
      // Every tenant starts pending: there is no --status to give.
      expectOneErrorLine(await cli.run(["tenants", "create", "beta", "-e", "staging", "--status", "active"]), 2, /--status/)
    })
  })
})

describe("tenants list", () => {
  it("prints a table with the seeded system_admin and the tenants created", async () => {
    const result = await cli.run(["tenants", "list"])
    expect(result.code, result.stderr).toBe(0)
    const lines = result.stdout.trimEnd().split("\n")
    expect(lines[0]).toMatch(/^ID\s+NAME\s+ENVIRONMENT\s+STATUS\s+CREATED$/)
    expect(result.stdout).toMatch(/system_admin\s+production\s+active/)
    expect(result.stdout).toMatch(/acme\s+staging\s+pending/)
  })

  it("--json gives every tenant and the cursor; --limit and --after page through", async () => {
    const all = JSON.parse((await cli.run(["tenants", "list", "--json"])).stdout) as {
      tenants: Array<{ name: string }>
      nextCursor: string | null
    }
    expect(all.nextCursor).toBeNull()
    const first = await cli.run(["tenants", "list", "--limit", "1", "--json"])
    const page1 = JSON.parse(first.stdout) as { tenants: Array<{ name: string }>; nextCursor: string }
    expect(page1.tenants.map((t) => t.name)).toEqual([all.tenants[0]!.name])
    const second = JSON.parse((await cli.run(["tenants", "list", "--limit", "1", "--after", page1.nextCursor, "--json"])).stdout) as {
      tenants: Array<{ name: string }>
    }
    expect(second.tenants.map((t) => t.name)).toEqual([all.tenants[1]!.name])
    const human = await cli.run(["tenants", "list", "--limit", "1"])
    expect(human.stdout).toContain(`More: control-plane tenants list --after ${page1.nextCursor}`)
  })

  it("filters by status and environment", async () => {
    await activate("Müller GmbH")
    const result = await cli.run(["tenants", "list", "--status", "active", "--environment", "production", "--json"])
    const names = (JSON.parse(result.stdout) as { tenants: Array<{ name: string }> }).tenants.map((t) => t.name)
    expect(names.sort()).toEqual(["Müller GmbH", "system_admin"])
    const none = await cli.run(["tenants", "list", "--status", "suspended"])
    expect(none.code).toBe(0)
    expect(none.stdout.trim()).toBe("No tenants.")
  })

  it("a bad page size or cursor is a usage error", async () => {
    expectOneErrorLine(await cli.run(["tenants", "list", "--limit", "0"]), 2, /between 1 and 500/)
    expectOneErrorLine(await cli.run(["tenants", "list", "--limit", "ten"]), 2, /--limit/)
    expectOneErrorLine(await cli.run(["tenants", "list", "--after", "not-a-cursor"]), 2, /`after` is not a cursor/)
  })
})

describe("tenants show / rename / set-status", () => {
  it("show finds a tenant by name or by id, in both formats", async () => {
    const { tenantId } = await createTenant("globex")
    const byName = await cli.run(["tenants", "show", "globex"])
    expect(byName.code, byName.stderr).toBe(0)
    expect(byName.stdout).toMatch(new RegExp(`^id:\\s+${tenantId}$`, "m"))
    const byId = JSON.parse((await cli.run(["tenants", "show", tenantId, "--json"])).stdout) as Record<string, unknown>
    expect(byId).toMatchObject({ tenantId, name: "globex", environment: "development", status: "pending" })
  })

  it("show finds a tenant whose name looks like a UUID by that name", async () => {
    const name = "0f6f1b0e-5d7c-4c2a-9a53-2b1e8f7d3c11"
    const { tenantId } = await createTenant(name)
    const byName = await cli.run(["tenants", "show", name, "--json"])
    expect(byName.code, byName.stderr).toBe(0)
    expect(JSON.parse(byName.stdout)).toMatchObject({ tenantId, name })
  })

  it("show of an unknown tenant is exit 1; of an invalid name exit 2", async () => {
    expectOneErrorLine(await cli.run(["tenants", "show", "nobody"]), 1, /No tenant is named "nobody"/)
    expectOneErrorLine(
      await cli.run(["tenants", "show", "4b0e4c2e-9a49-4bb8-9a6f-3d8f0c6f1e2a"]),
      1,
      /No tenant has the id 4b0e4c2e-9a49-4bb8-9a6f-3d8f0c6f1e2a/
    )
    expectOneErrorLine(await cli.run(["tenants", "show", ""]), 2, /Invalid tenant name: must not be empty/)
  })

  it("rename changes the name; a taken or invalid name changes nothing", async () => {
    const { tenantId } = await createTenant("initech")
    const renamed = await cli.run(["tenants", "rename", "initech", "Initech Inc", "--json"])
    expect(renamed.code, renamed.stderr).toBe(0)
    expect(JSON.parse(renamed.stdout)).toMatchObject({ tenantId, name: "Initech Inc" })
    await expectNothingWritten(async () => {
      expectOneErrorLine(await cli.run(["tenants", "rename", tenantId, "acme"]), 1, /A tenant named "acme" already exists/)
      expectOneErrorLine(await cli.run(["tenants", "rename", tenantId, "bad\nname"]), 2, /Invalid tenant name: must not contain control characters/)
      expectOneErrorLine(
        await cli.run(["tenants", "rename", tenantId, "Initech\u200B Inc"]),
        2,
        /^error: Invalid tenant name: must not contain invisible or text-direction characters \(U\+200B\)$/
      )
    })
  })

  it("a name with an invisible character, stored before the rule (here from SQL), is found by name and can be renamed", async () => {
    const { tenantId } = await createTenant("stark")
    const hidden = "sta\u200Brk"
    await withConnection(database.url, (db) =>
      db.query(sql`UPDATE control_plane.tenants SET name = ${hidden} WHERE tenant_id = ${tenantId}`))
    const shown = await cli.run(["tenants", "show", hidden, "--json"])
    expect(shown.code, shown.stderr).toBe(0)
    expect(JSON.parse(shown.stdout)).toMatchObject({ tenantId, name: hidden })
    const renamed = await cli.run(["tenants", "rename", hidden, "Stark", "--json"])
    expect(renamed.code, renamed.stderr).toBe(0)
    expect(JSON.parse(renamed.stdout)).toMatchObject({ tenantId, name: "Stark" })
  })

  it("set-status changes the status as the lifecycle allows; an unknown status changes nothing", async () => {
    await createTenant("hooli")
    await expectNothingWritten(async () => {
      expectOneErrorLine(
        await cli.run(["tenants", "set-status", "hooli", "archived"]),
        2,
        /Invalid value for argument <status>: "archived"/
      )
      expectOneErrorLine(
        await cli.run(["tenants", "set-status", "hooli", "suspended"]),
        1,
        /^error: tenant "hooli" is pending and cannot become suspended; allowed from pending: active \(resume\), inactive \(deactivate\)$/
      )
    })
    const changed = await cli.run(["tenants", "set-status", "hooli", "inactive"])
    expect(changed.code, changed.stderr).toBe(0)
    expect(changed.stdout).toMatch(/^status:\s+inactive$/m)
    expect((await rows()).find((r) => r.name === "hooli")?.status).toBe("inactive")
  })
})

describe("tenants suspend / resume / deactivate", () => {
  it("walk a tenant through the lifecycle; a refused move exits 1 naming the moves allowed from where it is", async () => {
    await createTenant("wayne")
    await expectNothingWritten(async () => {
      expectOneErrorLine(
        await cli.run(["tenants", "suspend", "wayne"]),
        1,
        /^error: tenant "wayne" is pending and cannot become suspended; allowed from pending: active \(resume\), inactive \(deactivate\)$/
      )
      expectOneErrorLine(await cli.run(["tenants", "resume", "wayne"]), 1, /^error: Tenant "wayne" has no active database$/)
    })
    await addActiveDatabase("wayne")
    const statusAfter = async (command: string) => {
      const result = await cli.run(["tenants", command, "wayne", "--json"])
      expect(result.code, result.stderr).toBe(0)
      return (JSON.parse(result.stdout) as { status: string }).status
    }
    expect(await statusAfter("resume")).toBe("active")
    expect(await statusAfter("suspend")).toBe("suspended")
    expect(await statusAfter("deactivate")).toBe("inactive")
    await expectNothingWritten(async () => {
      expectOneErrorLine(
        await cli.run(["tenants", "resume", "wayne"]),
        1,
        /^error: tenant "wayne" is inactive and cannot become active; allowed from inactive: none, it is final$/
      )
    })
  })

  it("system_admin cannot be suspended: exit 1, nothing written", async () => {
    await expectNothingWritten(async () => {
      expectOneErrorLine(
        await cli.run(["tenants", "suspend", "system_admin"]),
        1,
        /^error: system_admin is the platform's own tenant and always stays active: it cannot become suspended$/
      )
    })
  })

  it("a missing tenant argument exits 2, an unknown tenant 1", async () => {
    expectOneErrorLine(await cli.run(["tenants", "deactivate"]), 2, /^error: Missing required argument: tenant/)
    expectOneErrorLine(await cli.run(["tenants", "resume", "nobody"]), 1, /No tenant is named "nobody"/)
  })
})

describe("tenants delete", () => {
  it("without a terminal and without --yes it refuses with exit 2 and deletes nothing", async () => {
    await createTenant("umbrella")
    await expectNothingWritten(async () => {
      expectOneErrorLine(
        await cli.run(["tenants", "delete", "umbrella"]),
        2,
        /refusing to delete tenant "umbrella" without confirmation: pass --yes/
      )
    })
  })

  it("--yes deletes it and says so; it is gone afterwards", async () => {
    const { tenantId } = await createTenant("soylent")
    const result = await cli.run(["tenants", "delete", "soylent", "--yes"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.trim()).toBe(`Deleted tenant "soylent" (${tenantId}) and its registered databases.`)
    expect((await rows()).some((r) => r.tenant_id === tenantId)).toBe(false)
    expectOneErrorLine(await cli.run(["tenants", "delete", tenantId, "-y"]), 1, /No tenant has the id/)
  })

  it("system_admin cannot be deleted: exit 1, nothing written", async () => {
    await expectNothingWritten(async () => {
      expectOneErrorLine(
        await cli.run(["tenants", "delete", "system_admin", "--yes"]),
        1,
        /^error: system_admin is the platform's own tenant and cannot be deleted$/
      )
    })
  })

  it("--json prints the deleted tenant", async () => {
    const { tenantId } = await createTenant("tyrell")
    const result = await cli.run(["tenants", "delete", "tyrell", "--yes", "--json"])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ deleted: { tenantId, name: "tyrell" } })
  })
})

describe("tenants: configuration", () => {
  it("without DATABASE_URL the command exits 2 saying so", async () => {
    expectOneErrorLine(
      await cli.run(["tenants", "list"], { env: { DATABASE_URL: undefined } }),
      2,
      /^error: DATABASE_URL is not set: set it to the connection string of the control-plane database$/
    )
  })

  it("an invalid setting is exit 2 naming the variable and what it expects, not the value", async () => {
    const result = await cli.run(["tenants", "list"], { env: { CONTROL_PLANE_POOL_SIZE: "lots" } })
    expectOneErrorLine(result, 2, /CONTROL_PLANE_POOL_SIZE is invalid: Expected .*number/)
    expect(result.stderr).not.toContain("lots")
  })

  it("a DATABASE_URL that is not a PostgreSQL URL is exit 2 naming the variable, never its value", async () => {
    for (const value of ["notaurl", "mysql://operator:pa55word-not-shown@db.internal/control_plane"]) {
      const result = await makeCli({ DATABASE_URL: value }, ["pa55word-not-shown"]).run(["tenants", "list"])
      expectOneErrorLine(result, 2, /^error: DATABASE_URL is invalid: must be a PostgreSQL connection URL \(scheme postgres or postgresql\)$/)
      expect(result.stderr.includes(value), "stderr shows the value").toBe(false)
    }
  })

  it("a database without the control_plane schema is exit 1 saying to apply it", async () => {
    const empty = await createTestDatabase("cli_tenants_empty")
    try {
      for (const args of [["tenants", "list"], ["tenants", "show", "acme"], ["tenants", "create", "acme", "-e", "staging"]]) {
        expectOneErrorLine(
          await makeCli({ DATABASE_URL: empty.url }).run(args),
          1,
          /^error: the control_plane schema is missing: run control-plane db apply$/
        )
      }
    } finally {
      await empty.drop()
    }
  })

  it("an unreachable database is exit 1 with a one-line reason and no URL", async () => {
    const url = "postgres://operator:pa55word-not-shown@127.0.0.1:1/control_plane"
    const result = await makeCli({ DATABASE_URL: url }, [url, "pa55word-not-shown"]).run(["tenants", "list"], {
      env: { CONTROL_PLANE_CONNECT_TIMEOUT_MS: "2000" }
    })
    expectOneErrorLine(result, 1, /Database error: the database could not be reached/)
  })
})
