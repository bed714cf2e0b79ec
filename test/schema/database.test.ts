/**
 * The scratch-database helpers of cli/src/schema/database.ts against the real
 * server: a scratch database is dropped after use, and when both the work and
 * the drop fail, the work's error is the one reported.
 *
 * PostgreSQL refuses to drop a template database, so marking the scratch
 * database IS_TEMPLATE inside `use` makes the drop fail for real.
 */
import { sql } from "@databases/pg"
import { afterEach, describe, expect, it } from "vitest"
import { dropDatabase, runSql, withConnection, withScratchDatabase } from "../../cli/src/schema/database.ts"
import { adminUrl } from "../support/testDatabase.ts"

const stuck: Array<string> = []

/** Databases left as templates by a test: made ordinary again and dropped. */
afterEach(async () => {
  for (const name of stuck.splice(0)) {
    await runSql(adminUrl(), `ALTER DATABASE "${name}" IS_TEMPLATE false`)
    await dropDatabase(adminUrl(), name)
  }
})

const exists = (name: string): Promise<boolean> =>
  withConnection(adminUrl(), async (db) => (await db.query(sql`SELECT 1 FROM pg_database WHERE datname = ${name}`)).length > 0)

/** Marks the scratch database a template, so that dropping it fails. */
const makeUndroppable = async (name: string): Promise<void> => {
  stuck.push(name)
  await runSql(adminUrl(), `ALTER DATABASE "${name}" IS_TEMPLATE true`)
}

describe("withScratchDatabase", () => {
  it("drops the scratch database after use, and returns what use returned", async () => {
    let seen = ""
    const result = await withScratchDatabase(adminUrl(), "cp_test_scratch_ok", async (scratch) => {
      seen = scratch.name
      expect(await exists(scratch.name)).toBe(true)
      return 42
    })
    expect(result).toBe(42)
    expect(seen).toMatch(/^cp_test_scratch_ok_[0-9a-f]{10}$/)
    expect(await exists(seen)).toBe(false)
  })

  it("drops the scratch database when use fails, and rethrows use's error", async () => {
    let seen = ""
    const failure = withScratchDatabase(adminUrl(), "cp_test_scratch_fail", async (scratch) => {
      seen = scratch.name
      throw new Error("the work failed")
    })
    await expect(failure).rejects.toThrow("the work failed")
    expect(await exists(seen)).toBe(false)
  })

  it("when use fails and the drop fails too, use's error wins", async () => {
    const failure = withScratchDatabase(adminUrl(), "cp_test_scratch_both", async (scratch) => {
      await makeUndroppable(scratch.name)
      throw new Error("the work failed")
    })
    await expect(failure).rejects.toThrow("the work failed")
  })

  it("when use succeeds but the drop fails, the drop's error is reported", async () => {
    const failure = withScratchDatabase(adminUrl(), "cp_test_scratch_drop", async (scratch) => {
      await makeUndroppable(scratch.name)
      return "done"
    })
    await expect(failure).rejects.toThrow(/cannot drop a template database/)
  })
})
