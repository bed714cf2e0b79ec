/**
 * `control-plane db lint` (what `npm run db:lint` runs) as a process: its
 * report and its exit codes (0 clean, 1 violations, 2 usage error).
 */
import { randomBytes } from "node:crypto"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { expectOneErrorLine } from "../cli/harness.ts"
import { adminUrl, dbCli } from "../support/schemaTools.ts"
import { runSql } from "../support/testDatabase.ts"
import { scratchProject, type ScratchProject } from "./scratch.ts"

let unsafe: ScratchProject
let safe: ScratchProject

beforeAll(async () => {
  unsafe = await scratchProject("cli-unsafe")
  await unsafe.add({ "20300101000000_drop_host.sql": `SET lock_timeout = '5s';\nALTER TABLE "control_plane"."tenant_databases" DROP COLUMN "host";\n` })
  safe = await scratchProject("cli-safe")
  await safe.add({ "20300101000000_add_note.sql": `SET lock_timeout = '5s';\nALTER TABLE "control_plane"."tenants" ADD COLUMN "note" text NULL;\n` })
})

afterAll(async () => {
  await unsafe?.remove()
  await safe?.remove()
})

const configOf = (project: ScratchProject) => ["--config", path.join(project.root, "atlas.hcl")]

describe("control-plane db lint", () => {
  it("exits 1 on a violation, with a report naming file, statement and rule", async () => {
    const outcome = await dbCli().run(["db", "lint", "--latest", "1", ...configOf(unsafe)])
    expect(outcome.stdout).toContain("20300101000000_drop_host.sql")
    expect(outcome.stdout).toContain(`L2  ALTER TABLE "control_plane"."tenant_databases" DROP COLUMN "host";`)
    expect(outcome.stdout).toContain("engine DS103 (destructive)")
    expect(outcome.stdout).toContain("squawk ban-drop-column")
    expectOneErrorLine(outcome, 1, /the migration gate found 2 violation\(s\)/)
  })

  it("exits 0 on a safe migration", async () => {
    const outcome = await dbCli().run(["db", "lint", "--latest", "1", ...configOf(safe)])
    expect(outcome.stdout).toContain("passed: 1 file(s), no findings")
    expect(outcome.code).toBe(0)
  })

  it("exits 2 on usage errors, with one line, before touching any database", async () => {
    for (const args of [["--latest", "0"], ["--latest"], ["--bogus"], ["--all", "--latest", "2"], ["--lates", "1"]]) {
      expectOneErrorLine(await dbCli().run(["db", "lint", ...args]), 2, /./)
    }
    const badServer = await dbCli({ CONTROL_PLANE_ADMIN_URL: "not a url" }).run(["db", "lint", "--latest", "1", ...configOf(safe)])
    expectOneErrorLine(badServer, 2, /CONTROL_PLANE_ADMIN_URL is not a valid PostgreSQL URL/)
  })

  it("exits 1 with a clear message when the server role may not create event triggers", async () => {
    const role = `cp_test_gate_${randomBytes(4).toString("hex")}`
    await runSql(adminUrl(), `CREATE ROLE ${role} LOGIN CREATEDB`)
    try {
      const url = new URL(adminUrl())
      url.username = role
      url.password = ""
      const outcome = await dbCli({ CONTROL_PLANE_ADMIN_URL: url.toString() }).run(["db", "lint", "--latest", "1", ...configOf(safe)])
      expectOneErrorLine(outcome, 1, /the lock_timeout probe creates event triggers, which takes a superuser/)
    } finally {
      // Its scratch databases were dropped before the command ended: the role owns nothing, so it can go.
      await runSql(adminUrl(), `DROP ROLE ${role}`)
    }
  })
})
