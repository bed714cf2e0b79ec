/**
 * `control-plane servers|tenants provision|tenants deprovision|fleet ...` in-process
 * (makeCli), against a control plane of the file's own and the local
 * PostgreSQL as the database server: what an operator types and sees, exit
 * codes (2 for usage, 1 for refusals and failures), one error line, nothing
 * written by refused input, and no connection string in any output.
 */
import { sql } from "@databases/pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { databasesAndRolesNamed, dropByPrefix, newKeyRing, newNamePrefix } from "../fleet/support.ts"
import { adminUrl, createMigratedTestDatabase, type TestDatabase, withConnection } from "../support/testDatabase.ts"
import { expectOneErrorLine, expectUnchanged, makeCli } from "./harness.ts"

let database: TestDatabase
let cli: ReturnType<typeof makeCli>
const keyRing = newKeyRing()
const prefix = newNamePrefix()

beforeAll(async () => {
  database = await createMigratedTestDatabase("cli_fleet")
  cli = makeCli({ DATABASE_URL: database.url, ...keyRing.env }, [adminUrl()])
})
afterAll(async () => {
  await dropByPrefix(prefix)
  await database?.drop()
})

/** What refused input must leave untouched: the control plane's tenants, placements, databases and servers. */
const records = () =>
  withConnection(database.url, (db) =>
    Promise.all([
      db.query(sql`SELECT tenant_id, status FROM control_plane.tenants ORDER BY tenant_id`),
      db.query(sql`SELECT tenant_id, step FROM control_plane.tenant_provisioning ORDER BY tenant_id`),
      db.query(sql`SELECT id, status FROM control_plane.tenant_databases ORDER BY id`),
      db.query(sql`SELECT id, status FROM control_plane.database_servers ORDER BY id`)
    ]))

const ok = async (args: ReadonlyArray<string>, stdin?: string) => {
  const result = await cli.run(args, stdin === undefined ? {} : { stdin })
  expect(result.code, result.stderr).toBe(0)
  return result
}

describe("servers", () => {
  it("add reads the admin connection string from stdin, never echoes it; list and drain", async () => {
    const added = JSON.parse((await ok(["servers", "add", "pg-local", "--max-databases", "50", "--json"], `${adminUrl()}\n`)).stdout)
    expect(added).toMatchObject({ name: "pg-local", host: "127.0.0.1", port: 5432, status: "open", databases: 0, maxDatabases: 50, keyId: "fleet-test" })
    const fromEnv = await cli.run(["servers", "add", "pg-spare", "--max-databases", "5", "--from-env", "SPARE_ADMIN_URL"], {
      env: { SPARE_ADMIN_URL: adminUrl() }
    })
    expect(fromEnv.code, fromEnv.stderr).toBe(0)
    const listed = await ok(["servers", "list"])
    expect(listed.stdout).toMatch(/^NAME\s+HOST\s+STATUS\s+DATABASES\s+KEY\s+ID$/m)
    expect(listed.stdout).toMatch(/^pg-local\s+127\.0\.0\.1:5432\s+open\s+0\/50\s+fleet-test\s+\S+$/m)
    const drained = await ok(["servers", "drain", "pg-spare"])
    expect(drained.stdout).toBe("Drained server pg-spare: no new tenant databases are placed on it; the 0 on it stay.\n")
  })

  it("refuses bad input with one line and writes nothing", async () => {
    await expectUnchanged(records, async () => {
      const [taken, zero, none, nowhere] = await Promise.all([
        cli.run(["servers", "add", "pg-local", "--max-databases", "5"], { stdin: `${adminUrl()}\n` }),
        cli.run(["servers", "add", "pg-zero", "--max-databases", "0"], { stdin: `${adminUrl()}\n` }),
        cli.run(["servers", "add", "pg-none", "--max-databases", "5"]),
        cli.run(["servers", "drain", "pg-nowhere"])
      ])
      expectOneErrorLine(taken, 1, /^error: A database server named "pg-local" already exists$/)
      expectOneErrorLine(zero, 2, /^error: Invalid database server: .*max/i)
      expectOneErrorLine(none, 2, /no connection string on stdin/)
      expectOneErrorLine(nowhere, 1, /^error: No database server is named or has the id "pg-nowhere"$/)
    })
  })
})

describe("tenants provision / deprovision", () => {
  it("provisions a tenant to active; running it again changes nothing", async () => {
    const first = JSON.parse((await ok(["tenants", "provision", "acme", "-e", "production", "--name-prefix", prefix, "--json"])).stdout)
    expect(first.tenant).toMatchObject({ name: "acme", status: "active", environment: "production" })
    expect(first.database).toMatchObject({ status: "active", host: "127.0.0.1", port: 5432 })
    expect(first.database.databaseName).toBe(`${prefix}${first.tenant.tenantId.replaceAll("-", "")}`)
    expect(first.server.name).toBe("pg-local")
    expect(first.ran).toEqual(["register", "create_role_and_database", "migrate", "seed", "activate"])
    const again = await ok(["tenants", "provision", "acme", "-e", "production", "--name-prefix", prefix])
    expect(again.stdout).toMatch(/^steps:\s+none: already provisioned$/m)
    expect(again.stdout).toMatch(/^status:\s+active$/m)
    // Asked for with other options, it is refused rather than those options ignored.
    expectOneErrorLine(
      await cli.run(["tenants", "provision", "acme", "-e", "staging", "--name-prefix", "other_"]),
      2,
      new RegExp(`^error: Tenant "acme" was provisioned with environment production, database and role ${first.database.databaseName}: ` +
        "run the command with the same options, or deprovision it first$")
    )
  })

  it("refuses an unknown or drained server and too long a name prefix, in one line, writing nothing", async () => {
    await expectUnchanged(records, async () => {
      const [unknown, drained, tooLong, badEnvironment, notThere, unconfirmed, noTemplate] = await Promise.all([
        cli.run(["tenants", "provision", "beta", "-e", "staging", "--server", "pg-nowhere"]),
        cli.run(["tenants", "provision", "beta", "-e", "staging", "--server", "pg-spare"]),
        cli.run(["tenants", "provision", "beta", "-e", "staging", "--name-prefix", "x".repeat(40)]),
        cli.run(["tenants", "provision", "beta", "-e", "moon"]),
        cli.run(["tenants", "deprovision", "beta", "--yes"]),
        cli.run(["tenants", "deprovision", "acme"]),
        cli.run(["tenants", "provision", "beta", "-e", "staging"], { env: { CONTROL_PLANE_TENANT_TEMPLATE: "/nonexistent/template" } })
      ])
      expectOneErrorLine(unknown, 1, /^error: No database server is named or has the id "pg-nowhere"$/)
      expectOneErrorLine(drained, 1,
        /^error: Cannot place tenant "beta": database server "pg-spare" is drained and takes no new tenant databases$/)
      expectOneErrorLine(tooLong, 2, /^error: The name prefix "x{40}" makes role and database names of 72 bytes, more than PostgreSQL's 63/)
      expectOneErrorLine(badEnvironment, 2, /environment/)
      expectOneErrorLine(notThere, 1, /^error: No tenant is named "beta"$/)
      expectOneErrorLine(unconfirmed, 2, /refusing to deprovision tenant "acme" without confirmation: pass --yes/)
      expectOneErrorLine(noTemplate, 2, /^error: The tenant template folder \/nonexistent\/template has no atlas\.hcl/)
    })
  })
})

describe("fleet", () => {
  it("migrate: every tenant database already at the template's version, a summary and a ledger row each; status shows the versions", async () => {
    await ok(["tenants", "provision", "globex", "-e", "development", "--name-prefix", prefix])
    const run = JSON.parse((await ok(["fleet", "migrate", "--concurrency", "2", "--json"])).stdout)
    expect(run).toMatchObject({ status: "succeeded", resumed: false, total: 2, succeeded: 2, failed: 0, skipped: 0, applied: 0, failures: [] })
    const human = await ok(["fleet", "migrate"])
    expect(human.stdout).toMatch(/^Fleet run \S+: succeeded, finished .+\n {2}2 databases: 2 succeeded, 0 failed, 0 skipped; 0 migration files applied; target version \d{14}\n$/)
    const status = JSON.parse((await ok(["fleet", "status", "--json"])).stdout)
    expect(status.versions).toEqual([{ version: status.targetVersion, databases: 2 }])
    expect(status.lastRun).toMatchObject({ status: "succeeded", total: 2 })
    const ledger = await withConnection(database.url, (db) =>
      db.query(sql`SELECT status::text, version_before, version_after FROM control_plane.fleet_migrations WHERE run_id = ${run.runId}`))
    expect(ledger).toEqual([
      { status: "succeeded", version_before: status.targetVersion, version_after: status.targetVersion },
      { status: "succeeded", version_before: status.targetVersion, version_after: status.targetVersion }
    ])
  })

  it("migrate: a dirty tenant database fails alone, exit 1 with one line naming it; status lists the failure", async () => {
    // A legacy database registered by hand: tables, but no migration history.
    const legacy = `${prefix}legacy`
    await withConnection(adminUrl(), (db) => db.query(sql`CREATE DATABASE ${sql.ident(legacy)}`))
    const url = new URL(adminUrl())
    url.pathname = `/${legacy}`
    await withConnection(url.toString(), (db) => db.query(sql`CREATE TABLE legacy (id int)`))
    await ok(["tenants", "create", "initech", "-e", "development"])
    await ok(["databases", "register", "--tenant", "initech", "--status", "active"], `${url.toString()}\n`)
    const result = await cli.run(["fleet", "migrate", "--json"])
    expectOneErrorLine(result, 1,
      /^error: Fleet run \S+ failed: 1 of 3 databases failed and 0 were not migrated \(first: tenant "initech": the database has no migration history but is not empty .*\); fix the cause and run `fleet migrate` again$/)
    expect(JSON.parse(result.stdout)).toMatchObject({ status: "failed", total: 3, succeeded: 2, failed: 1 })
    const status = await ok(["fleet", "status"])
    expect(status.stdout).toMatch(/^initech\s+\S+\s+failed\s+the database has no migration history/m)
    const runs = () => withConnection(database.url, (db) => db.query(sql`SELECT * FROM control_plane.fleet_runs ORDER BY id`))
    await expectUnchanged(runs, async () => {
      expectOneErrorLine(await cli.run(["fleet", "migrate", "--concurrency", "0"]), 2, /^error: Invalid fleet migration options: /)
      // One past what fleet_runs' integer columns hold: refused before the database sees it.
      expectOneErrorLine(await cli.run(["fleet", "migrate", "--canary", "2147483648"]), 2,
        /^error: Invalid fleet migration options: Expected a value between 0 and 2147483647 at \["canary"\]$/)
    })
  })

  it("databases remove refuses a provisioned tenant's database in one line and removes nothing", async () => {
    const [row] = await withConnection(database.url, (db) =>
      db.query(sql`SELECT p.database_id::text AS id FROM control_plane.tenant_provisioning p
                   JOIN control_plane.tenants t USING (tenant_id) WHERE t.name = 'globex'`))
    await expectUnchanged(records, async () => {
      expectOneErrorLine(
        await cli.run(["databases", "remove", row.id, "--yes"]),
        1,
        new RegExp(`^error: Database ${row.id} is the database of provisioned tenant "globex" and goes only with it: \`tenants deprovision\` removes the tenant and drops the database and its role$`)
      )
    })
  })

  it("deprovision --yes drops a tenant's database and role and removes it; delete refuses a provisioned tenant", async () => {
    expectOneErrorLine(
      await cli.run(["tenants", "delete", "globex", "--yes"]),
      1,
      /^error: Tenant "globex" was provisioned: remove it with `tenants deprovision`, which also drops its database and role$/
    )
    const removed = await ok(["tenants", "deprovision", "globex", "--yes"])
    expect(removed.stdout).toMatch(/^Deprovisioned tenant "globex" \(\S+\): dropped database and role \S+ on server pg-local and removed its records\.\n$/)
    expectOneErrorLine(await cli.run(["tenants", "show", "globex"]), 1, /No tenant is named "globex"/)
  })

  it("deprovision --keep-database removes the records and leaves the database and role on the server", async () => {
    const made = JSON.parse((await ok(["tenants", "provision", "hooli", "-e", "development", "--name-prefix", prefix, "--json"])).stdout)
    const human = await ok(["tenants", "deprovision", "hooli", "--yes", "--keep-database"])
    expect(human.stdout).toBe(
      `Deprovisioned tenant "hooli" (${made.tenant.tenantId}): removed its records; database and role ${made.database.databaseName} are still on server pg-local.\n`
    )
    expectOneErrorLine(await cli.run(["tenants", "show", "hooli"]), 1, /No tenant is named "hooli"/)
    expect(await databasesAndRolesNamed(made.database.databaseName)).toEqual([{ databases: 1, roles: 1 }])
  })
})
