/**
 * The README's "npm scripts" table, run as it shows them: every script it
 * lists exists; those that run the CLI run its bundle (cli/dist/, which the
 * setup check rebuilds when the sources change; the other tests run the
 * sources in-process); and those that work on DATABASE_URL alone (the two
 * paths, status, drift) run from the repository root, each on an empty
 * database of its own, doing what the table says.
 */
import { sql } from "@databases/pg"
import { readFile } from "node:fs/promises"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { projectFile } from "../../cli/src/schema/paths.ts"
import { npm } from "../quickstart/npm.ts"
import { adminUrl } from "../support/schemaTools.ts"
import { createTestDatabase, type TestDatabase, withConnection } from "../support/testDatabase.ts"

/** The commands of the README's "npm scripts" table, as written (`npm run db:apply`, `npm run cli -- <command>`, ...). */
const tableCommands = async (): Promise<Array<string>> => {
  const readme = await readFile(projectFile("README.md"), "utf8")
  const section = readme.slice(readme.indexOf("\n## npm scripts\n"))
  const table = section.slice(0, section.indexOf("\n## ", 1))
  return [...table.matchAll(/^\| `(npm [^`]+)` \|/gm)].map((match) => match[1]!)
}

/** The script a command of the table runs: `npm start` -> start, `npm run db:diff -- <name>` -> db:diff. */
const scriptOf = (command: string): string => {
  const [, verb, name] = command.split(" ")
  return verb === "run" ? name! : verb!
}

const scripts = async (): Promise<Record<string, string>> =>
  (JSON.parse(await readFile(projectFile("package.json"), "utf8")) as { scripts: Record<string, string> }).scripts

let versioned: TestDatabase
let declarative: TestDatabase
const env = (database: TestDatabase) => ({ DATABASE_URL: database.url, CONTROL_PLANE_ADMIN_URL: adminUrl() })

beforeAll(async () => {
  ;[versioned, declarative] = await Promise.all([createTestDatabase("npm_migrate"), createTestDatabase("npm_apply")])
})
afterAll(async () => {
  await Promise.all([versioned?.drop(), declarative?.drop()])
})

const tenantNames = (url: string) =>
  withConnection(url, async (db) => (await db.query(sql`SELECT name FROM control_plane.tenants ORDER BY name`)).map((row) => row.name as string))

describe("the README's npm scripts", () => {
  it("every script of the table exists, and those that run the CLI run its bundle", async () => {
    const commands = await tableCommands()
    const defined = await scripts()
    expect(commands.length).toBeGreaterThan(10)
    for (const command of commands) expect(defined[scriptOf(command)], command).toBeDefined()
    const cliScripts = Object.entries(defined).filter(([, line]) => / node cli\//.test(line))
    expect(cliScripts.map(([name]) => name)).toEqual(expect.arrayContaining(["start", "cli", "db:apply", "db:migrate", "db:drift"]))
    for (const [name, line] of cliScripts) expect(line, name).toMatch(/ node cli\/dist\/[\w-]+\.js\b/)
  })

  it("npm run db:migrate, then npm run db:status, on an empty database", async () => {
    expect(await tableCommands()).toEqual(expect.arrayContaining(["npm run db:migrate", "npm run db:status"]))
    const migrated = await npm(["run", "db:migrate"], env(versioned))
    expect(migrated.code, migrated.stderr).toBe(0)
    expect(await tenantNames(versioned.url)).toEqual(["system_admin"])
    const status = await npm(["run", "db:status"], env(versioned))
    expect(status.code, status.stderr).toBe(0)
    expect(status.stdout).toMatch(/^Migration status: OK$/m)
    expect(status.stdout).toMatch(/^Pending files: +0$/m)
  })

  it("npm run db:apply, then npm run db:drift, on an empty database", async () => {
    expect(await tableCommands()).toEqual(expect.arrayContaining(["npm run db:apply", "npm run db:drift"]))
    const applied = await npm(["run", "db:apply"], env(declarative))
    expect(applied.code, applied.stderr).toBe(0)
    expect(applied.stdout).toMatch(/^Routines: .*update_tenants_updated_at/m)
    expect(await tenantNames(declarative.url)).toEqual(["system_admin"])
    const drift = await npm(["run", "db:drift"], env(declarative))
    expect(drift.code, drift.stderr).toBe(0)
    expect(drift.stdout).toMatch(/^no drift: /)
  })
})
