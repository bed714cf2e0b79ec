/**
 * `control-plane audit ...` and `--actor` as subprocesses, and the audit
 * table as an operator meets it in psql: every change recorded with who made
 * it, UPDATE/DELETE/TRUNCATE refused to the owner, an event edited by a
 * superuser with the guard disabled found by `audit verify` (exit 1, named),
 * and the retention purge.
 */
import { execFile } from "node:child_process"
import { userInfo } from "node:os"
import { promisify } from "node:util"
import { sql } from "@databases/pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { withConnection } from "../support/testDatabase.ts"
import { createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"
import { expectOneErrorLine, expectUnchanged, makeCli, testKeyRing } from "./harness.ts"

let database: TestDatabase
let cli: ReturnType<typeof makeCli>
const ring = testKeyRing()
const secret = "postgres://acme_app:s3cret-audit-cli@db1.acme.internal:5432/acme"

beforeAll(async () => {
  database = await createMigratedTestDatabase("cli_audit")
  cli = makeCli({ DATABASE_URL: database.url, ...ring.env }, [secret, "s3cret-audit-cli"])
})
afterAll(() => database?.drop())

/** Runs SQL through the psql client, as an operator would; gives its exit code and stderr. */
const psql = (script: string): Promise<{ code: number; stderr: string }> =>
  promisify(execFile)("psql", [database.url, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-c", script]).then(
    ({ stderr }) => ({ code: 0, stderr }),
    (error: { code?: number; stderr?: string }) => ({ code: error.code ?? -1, stderr: error.stderr ?? "" })
  )

interface EventRow {
  readonly id: number
  readonly actor: string
  readonly action: string
  readonly entity_type: string
  readonly reason: string | null
}

const events = (): Promise<ReadonlyArray<EventRow>> =>
  withConnection(database.url, (db) =>
    db.query(sql`SELECT id::int, actor, action, entity_type, reason FROM control_plane.audit_events ORDER BY id`)
  ) as Promise<ReadonlyArray<EventRow>>

const listJson = async (args: ReadonlyArray<string>) => {
  const result = await cli.run(["audit", "list", "--json", ...args])
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as { events: ReadonlyArray<Record<string, unknown>>; nextCursor: string | null }
}

describe("who acted", () => {
  it("--actor and --reason are recorded with each change; without --actor it is the OS user", async () => {
    expect((await cli.run(["tenants", "create", "acme", "-e", "production", "--actor", "alice", "--reason", "ticket 12"])).code).toBe(0)
    expect((await cli.run(["--actor", "bob", "tenants", "set-status", "acme", "inactive"])).code).toBe(0)
    expect((await cli.run(["tenants", "rename", "acme", "Acme Corp"])).code).toBe(0)
    expect((await events()).slice(-3).map((e) => [e.actor, e.action, e.reason])).toEqual([
      ["alice", "create", "ticket 12"],
      ["bob", "update", null],
      [userInfo().username, "update", null]
    ])
  })

  it("a reveal is recorded too, with its actor", async () => {
    const registered = await cli.run(["databases", "register", "--tenant", "Acme Corp", "--json"], { stdin: `${secret}\n` })
    expect(registered.code, registered.stderr).toBe(0)
    const { id } = JSON.parse(registered.stdout) as { id: string }
    const revealed = await cli.run(["databases", "reveal", id, "--actor", "dba"], { stdoutMayShow: [secret, "s3cret-audit-cli"] })
    expect(revealed.code, revealed.stderr).toBe(0)
    expect((await events()).at(-1)).toMatchObject({ actor: "dba", action: "reveal", entity_type: "tenant_database" })
  })

  it("an invalid --actor is a usage error, and nothing is written", async () => {
    await expectUnchanged(events, async () => {
      const [padded, controlled, reversed] = await Promise.all([
        cli.run(["tenants", "create", "beta", "-e", "staging", "--actor", " padded"]),
        cli.run(["tenants", "create", "beta", "-e", "staging", "--reason", "line\nbreak"]),
        cli.run(["tenants", "create", "beta", "-e", "staging", "--actor", "mallory\u202Eecila"])
      ])
      expectOneErrorLine(padded, 2, /Invalid actor: .*whitespace/)
      expectOneErrorLine(controlled, 2, /Invalid actor: .*control characters/)
      expectOneErrorLine(reversed, 2, /^error: Invalid actor: must not contain invisible or text-direction characters \(U\+202E\) at \["name"\]$/)
    })
  })
})

describe("audit list", () => {
  it("prints who did what, a connection string only as changed", async () => {
    const result = await cli.run(["audit", "list", "--tenant", "Acme Corp"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^ID\s+TIME\s+ACTOR\s+ACTION\s+ENTITY\s+CHANGES$/m)
    expect(result.stdout).toMatch(/alice \(postgres\)\s+create\s+tenant \S+\s+name acme; .*\(reason: ticket 12\)$/m)
    expect(result.stdout).toMatch(/bob \(postgres\)\s+update\s+tenant \S+\s+status pending→inactive$/m)
    expect(result.stdout).toMatch(/create\s+tenant_database \S+\s+.*connection_string changed/)
  })

  it("--json pages with --limit and --after; --tenant takes an id, also of a deleted tenant", async () => {
    const first = await listJson(["--tenant", "Acme Corp", "--limit", "2"])
    const tenantId = first.events[0]!["tenantId"] as string
    const second = await listJson(["--tenant", "Acme Corp", "--limit", "2", "--after", first.nextCursor!])
    expect([...first.events, ...second.events].map((e) => e["action"])).toEqual(["create", "update", "update", "create"])
    expect((await cli.run(["tenants", "delete", "Acme Corp", "--yes", "--actor", "carol"])).code).toBe(0)
    const all = await listJson(["--tenant", tenantId, "--action", "delete"])
    expect(all.events.map((e) => [e["actor"], e["entityType"]])).toEqual([["carol", "tenant"], ["carol", "tenant_database"]])
  })

  it("--since takes an age or an ISO time", async () => {
    // Independent reads: run side by side (each CLI process takes a while to start).
    const [recent, future, bad] = await Promise.all([
      listJson(["--since", "1h"]),
      listJson(["--since", new Date(Date.now() + 60_000).toISOString()]),
      cli.run(["audit", "list", "--since", "yesterday"])
    ])
    expect(recent.events.length).toBeGreaterThan(5)
    expect(future.events).toEqual([])
    expectOneErrorLine(bad, 2, /--since "yesterday" is neither an ISO date/)
    // Days that do not exist, and text after the date, are refused rather than read as something else.
    for (const since of ["2026-02-30", "2026-13-45", "2026-11-01 (hello) 10:00", "2026-11-01T10:00:00Zjunk"]) {
      expectOneErrorLine(await cli.run(["audit", "list", "--since", since]), 2, /is neither an ISO date or time/)
    }
    expect((await listJson(["--since", "2024-02-29T10:00:00+02:00"])).events.length).toBeGreaterThan(5)
  })
})

describe("the table in psql, and audit verify", () => {
  it("UPDATE, DELETE and TRUNCATE of audit_events fail for the owner", async () => {
    await expectUnchanged(events, async () => {
      const statements = [
        "UPDATE control_plane.audit_events SET actor = 'mallory'",
        "DELETE FROM control_plane.audit_events WHERE id = 1",
        "TRUNCATE control_plane.audit_events"
      ]
      const results = await Promise.all(statements.map(psql))
      results.forEach((result, i) => {
        expect(result.code, statements[i]).not.toBe(0)
        expect(result.stderr).toMatch(/control_plane\.audit_events is append-only: (UPDATE|DELETE|TRUNCATE) refused/)
      })
    })
  })

  it("verify passes, printing the head hash", async () => {
    const result = await cli.run(["audit", "verify"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^Audit chain verified: \d+ events \(#1 to #\d+\), head hash [0-9a-f]{64}\.$/m)
  })

  it("an event edited by a superuser with the guard disabled: verify exits 1 naming it", async () => {
    const { id: target, actor } = (await events())[2]!
    const edited = await psql(
      `BEGIN; ALTER TABLE control_plane.audit_events DISABLE TRIGGER audit_events_guard;
       UPDATE control_plane.audit_events SET actor = 'mallory' WHERE id = ${target};
       ALTER TABLE control_plane.audit_events ENABLE TRIGGER audit_events_guard; COMMIT;`
    )
    expect(edited.code, edited.stderr).toBe(0)
    expectOneErrorLine(await cli.run(["audit", "verify"]), 1, new RegExp(`^error: Audit event #${target} was altered: its content no longer matches its hash$`))
    // A purge refuses to run over it, so it cannot be hidden either.
    expectOneErrorLine(await cli.run(["audit", "purge", "--older-than-days", "0", "--yes"]), 1, new RegExp(`Audit event #${target} was altered`))
    const [row] = await events().then((all) => all.filter((e) => e.id === target))
    expect(row!.actor).toBe("mallory")
    const mended = await psql(
      `BEGIN; ALTER TABLE control_plane.audit_events DISABLE TRIGGER audit_events_guard;
       UPDATE control_plane.audit_events SET actor = '${actor}' WHERE id = ${target};
       ALTER TABLE control_plane.audit_events ENABLE TRIGGER audit_events_guard; COMMIT;`
    )
    expect(mended.code, mended.stderr).toBe(0)
    expect((await cli.run(["audit", "verify"])).code).toBe(0)
  })
})

describe("audit purge", () => {
  it("without --yes and no terminal it refuses (exit 2), deleting nothing", async () => {
    await expectUnchanged(events, async () => {
      const [unconfirmed, negative] = await Promise.all([
        cli.run(["audit", "purge", "--older-than-days", "0"]),
        cli.run(["audit", "purge", "--older-than-days", "-3", "--yes"])
      ])
      expectOneErrorLine(unconfirmed, 2, /refusing to purge the audit events older than 0 days without confirmation: pass --yes/)
      expectOneErrorLine(negative, 2, /Invalid audit purge/)
    })
  })

  it("--yes purges behind a checkpoint recorded with --actor and --reason; verify still passes", async () => {
    const before = (await events()).length
    const result = await cli.run(["audit", "purge", "--older-than-days", "0", "--yes", "--actor", "retention", "--reason", "policy 0d"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toBe(`Purged ${before} events older than 0 days; the chain now starts at #${before + 1}, anchored by checkpoint #${before + 1}.\n`)
    expect(await events()).toEqual([{ id: before + 1, actor: "retention", action: "purge", entity_type: "audit_trail", reason: "policy 0d" }])
    const verified = await cli.run(["audit", "verify", "--json"])
    expect(verified.code, verified.stderr).toBe(0)
    expect(JSON.parse(verified.stdout)).toMatchObject({ events: 1, firstId: before + 1, lastId: before + 1 })
  })
})
