/**
 * Bad input to the schema commands is one sentence on stderr, exit 2 for a
 * usage error and 1 for a failure, and nothing is written to the database:
 * a misspelt flag, a migration whose hash does not match atlas.sum, a
 * schema.hcl syntax error (named with file and line), a server that refuses
 * the connection, a scratch-database role without CREATEDB.
 */
import { sql } from "@databases/pg"
import { randomBytes } from "node:crypto"
import { appendFile, readFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { expectOneErrorLine } from "../cli/harness.ts"
import { scratchProject, type ScratchProject } from "../gate/scratch.ts"
import { adminUrl, dbCli } from "../support/schemaTools.ts"
import { createTestDatabase, runSql, type TestDatabase, withConnection } from "../support/testDatabase.ts"

let target: TestDatabase
let project: ScratchProject | undefined

beforeAll(async () => {
  target = await createTestDatabase("bad_input")
})
afterAll(() => target?.drop())
afterEach(async () => {
  await project?.remove()
  project = undefined
})

/** The schemas of the target database: nothing written means only public. */
const schemas = () =>
  withConnection(target.url, async (db) =>
    (await db.query(sql`SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1`)).map(
      (row) => row.nspname as string
    ))

const expectNothingWritten = async () => expect(await schemas()).toEqual(["public"])

const configOf = (p: ScratchProject) => ["--config", path.join(p.root, "atlas.hcl")]

describe("bad input to the schema commands", () => {
  it("a misspelt or unknown flag: exit 2, naming it", async () => {
    const cli = dbCli({ DATABASE_URL: target.url })
    expectOneErrorLine(await cli.run(["db", "apply", "--jsn"]), 2, /--jsn.*did you mean --json/)
    expectOneErrorLine(await cli.run(["db", "migrate", "--dry-run"]), 2, /Unrecognized flag: --dry-run/)
    await expectNothingWritten()
  })

  it("a migration file whose hash does not match atlas.sum: exit 1, naming the file", async () => {
    project = await scratchProject("bad_sum")
    const [first] = (await readFile(path.join(project.directory, "atlas.sum"), "utf8")).split("\n").slice(1, 2)
    const file = first!.split(" ")[0]!
    await appendFile(path.join(project.directory, file), "-- edited after hashing\n")
    const outcome = await dbCli({ DATABASE_URL: target.url }).run(["db", "migrate", ...configOf(project)])
    expectOneErrorLine(outcome, 1, new RegExp(`atlas.sum does not match the migration directory: ${file} was edited`))
    await expectNothingWritten()
  })

  it("a schema.hcl syntax error: exit 1, naming the file and the line", async () => {
    project = await scratchProject("bad_hcl")
    const schemaFile = path.join(project.root, "schema.hcl")
    const lines = (await readFile(schemaFile, "utf8")).split("\n")
    const broken = lines.findIndex((line) => line.includes(`column "name" {`))
    lines[broken] = `  column "name" {{`
    await writeFile(schemaFile, lines.join("\n"))
    const outcome = await dbCli({ DATABASE_URL: target.url }).run(["db", "apply", ...configOf(project)])
    expectOneErrorLine(outcome, 1, new RegExp(`schema\\.hcl line ${broken + 1}: `))
    await expectNothingWritten()
  })

  it("a server that refuses the connection: exit 1", async () => {
    const url = "postgres://someone:pw-refused-123@127.0.0.1:1/control_plane"
    for (const command of ["apply", "migrate", "drift"]) {
      const outcome = await dbCli({ DATABASE_URL: url }, [url, "pw-refused-123"]).run(["db", command])
      expectOneErrorLine(outcome, 1, /refused the connection or cannot be reached/)
    }
  })

  it("a scratch-database role without CREATEDB: exit 1, saying what to grant", async () => {
    const role = `cp_test_nocreatedb_${randomBytes(4).toString("hex")}`
    await runSql(adminUrl(), `CREATE ROLE ${role} LOGIN`)
    try {
      const admin = new URL(adminUrl())
      admin.username = role
      const outcome = await dbCli({ DATABASE_URL: target.url, CONTROL_PLANE_ADMIN_URL: admin.toString() }).run(["db", "apply"])
      expectOneErrorLine(outcome, 1, /the role of CONTROL_PLANE_ADMIN_URL may not create databases \(CREATEDB\)/)
      await expectNothingWritten()
    } finally {
      await runSql(adminUrl(), `DROP ROLE ${role}`)
    }
  })
})
