/**
 * A server older than PostgreSQL 14 is refused in one sentence naming its
 * version, by every command that reaches it, and nothing is written. Run by
 * `npm run test:matrix` against the embedded PostgreSQL 13 it starts
 * (CONTROL_PLANE_TEST_PG13_URL), not by `npm test`.
 */
import { describe, expect, it } from "vitest"
import { expectOneErrorLine } from "../cli/harness.ts"
import { dbCli } from "../support/schemaTools.ts"
import { withConnection } from "../support/testDatabase.ts"
import { sql } from "@databases/pg"

const pg13 = (): string => {
  const url = process.env["CONTROL_PLANE_TEST_PG13_URL"]
  if (url === undefined || url === "") throw new Error("CONTROL_PLANE_TEST_PG13_URL must name a PostgreSQL 13 server (npm run test:matrix sets it)")
  return url
}

describe("a PostgreSQL 13 server", () => {
  it("is PostgreSQL 13", async () => {
    const [row] = await withConnection(pg13(), (db) => db.query(sql`SELECT current_setting('server_version_num')::int / 10000 AS major`))
    expect(Number(row.major)).toBe(13)
  })

  for (const command of ["apply", "migrate", "status", "drift"]) {
    it(`db ${command}: one sentence naming the version, exit 1, nothing written`, async () => {
      const outcome = await dbCli({ DATABASE_URL: pg13(), CONTROL_PLANE_ADMIN_URL: pg13() }).run(["db", command])
      expectOneErrorLine(outcome, 1, /^error: PostgreSQL 13\.\d+ is not supported: the engine needs PostgreSQL 14 or newer$/)
      const schemas = await withConnection(pg13(), (db) =>
        db.query(sql`SELECT nspname FROM pg_namespace WHERE nspname IN ('control_plane', 'atlas_schema_revisions')`))
      expect(schemas).toEqual([])
    })
  }
})
