/**
 * `npm run db:lint` as a process: its report and its exit codes
 * (0 clean, 1 violations, 2 usage error).
 */
import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runSql, siblingUrl } from "../../cli/src/schema/database.ts"
import { adminUrl } from "../support/testDatabase.ts"
import { scratchProject, type ScratchProject } from "./scratch.ts"
import { script } from "./scripts.ts"

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

describe("npm run db:lint", () => {
  it("exits 1 on a violation, with a report naming file, statement and rule", async () => {
    const outcome = await script("lint", ["--dir", unsafe.directory, "--latest", "1"])
    expect(outcome.code).toBe(1)
    expect(outcome.stdout).toContain("20300101000000_drop_host.sql")
    expect(outcome.stdout).toContain(`L2  ALTER TABLE "control_plane"."tenant_databases" DROP COLUMN "host";`)
    expect(outcome.stdout).toContain("atlas DS103 (destructive)")
    expect(outcome.stdout).toContain("squawk ban-drop-column")
    expect(outcome.stderr).toContain("the migration gate found 2 violation(s)")
  })

  it("exits 0 on a safe migration", async () => {
    const outcome = await script("lint", ["--dir", safe.directory, "--latest", "1"])
    expect(outcome.stdout).toContain("passed: 1 file(s), no findings")
    expect(outcome.code).toBe(0)
  })

  it("exits 2 on usage errors, before touching any database", async () => {
    for (const args of [["--latest", "0"], ["--latest"], ["--bogus"], ["--all", "--latest", "2"]]) {
      const outcome = await script("lint", args)
      expect(outcome.code, args.join(" ")).toBe(2)
      expect(outcome.stderr).toContain("usage: npm run db:lint")
    }
    const badServer = await script("lint", ["--latest", "1"], { CONTROL_PLANE_ADMIN_URL: "not a url" })
    expect(badServer.code).toBe(2)
    expect(badServer.stderr).toContain("CONTROL_PLANE_ADMIN_URL is not a valid postgres:// URL")
  })

  it("exits 1 with a clear message when the server role may not create event triggers", async () => {
    const role = `cp_test_gate_${randomBytes(4).toString("hex")}`
    await runSql(adminUrl(), `CREATE ROLE ${role} LOGIN CREATEDB`)
    try {
      const url = new URL(siblingUrl(adminUrl(), "postgres"))
      url.username = role
      url.password = ""
      const outcome = await script("lint", ["--dir", safe.directory, "--latest", "1"], { CONTROL_PLANE_ADMIN_URL: url.toString() })
      expect(outcome.code).toBe(1)
      expect(outcome.stderr).toContain("the lock_timeout probe creates event triggers, which takes a superuser")
    } finally {
      // Its scratch databases are dropped before the script exits; the role owns nothing then.
      await runSql(adminUrl(), `DROP ROLE ${role}`)
    }
  })
})
