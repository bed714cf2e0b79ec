/**
 * ScratchDatabase against the real server: a scratch database lives exactly
 * as long as its scope, whether the work succeeds, fails or is interrupted;
 * when both the work and the drop fail, the work's error is the one
 * reported; and a server or role that cannot serve is one clear sentence.
 *
 * PostgreSQL refuses to drop a template database, so marking the scratch
 * database IS_TEMPLATE inside the scope makes the drop fail for real.
 */
import { Cause, Effect, Exit, Fiber, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { afterEach, describe, expect, it } from "vitest"
import { makeScratchDatabase, type ScratchDatabaseError } from "../../cli/src/schema/ScratchDatabase.ts"
import { adminUrl } from "../support/schemaTools.ts"
import { migratedTemplate, runSql, withConnection } from "../support/testDatabase.ts"
import { sql } from "@databases/pg"

const stuck: Array<string> = []

/** Databases left as templates by a test: made ordinary again and dropped. */
afterEach(async () => {
  for (const name of stuck.splice(0)) {
    await runSql(adminUrl(), `ALTER DATABASE "${name}" IS_TEMPLATE false`)
    await runSql(adminUrl(), `DROP DATABASE IF EXISTS "${name}"`)
  }
})

const scratch = () => makeScratchDatabase(Redacted.make(adminUrl()))

const exists = (name: string): Promise<boolean> =>
  withConnection(adminUrl(), async (db) => (await db.query(sql`SELECT 1 FROM pg_database WHERE datname = ${name}`)).length > 0)

/** Marks the scratch database a template, so that dropping it fails. */
const makeUndroppable = (name: string) =>
  Effect.promise(async () => {
    stuck.push(name)
    await runSql(adminUrl(), `ALTER DATABASE "${name}" IS_TEMPLATE true`)
  })

describe("ScratchDatabase.make", () => {
  it("creates an empty database for the scope and drops it after", async () => {
    let seen = ""
    const result = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function*() {
          const database = yield* scratch().make("cp_test_scratch_ok")
          seen = database.name
          expect(yield* Effect.promise(() => exists(database.name))).toBe(true)
          return 42
        })
      )
    )
    expect(result).toBe(42)
    expect(seen).toMatch(/^cp_test_scratch_ok_[0-9a-f]{10}$/)
    expect(await exists(seen)).toBe(false)
  })

  it("copies a template when given one", async () => {
    const tables = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function*() {
          const database = yield* scratch().make("cp_test_scratch_copy", { template: migratedTemplate() })
          return yield* Effect.promise(() =>
            withConnection(Redacted.value(database.url), (db) =>
              db.query(sql`SELECT tablename FROM pg_tables WHERE schemaname = 'control_plane' ORDER BY 1`)))
        })
      )
    )
    // The spec's three tables among them: the copy is the migrated template, not an empty database.
    expect(tables.map((t) => t.tablename)).toEqual(expect.arrayContaining(["system_config", "tenant_databases", "tenants"]))
  })

  it("drops the database when the work fails, and the work's error is the one reported", async () => {
    let seen = ""
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.gen(function*() {
          seen = (yield* scratch().make("cp_test_scratch_fail")).name
          return yield* Effect.fail("the work failed")
        })
      )
    )
    expect(exit).toEqual(Exit.fail("the work failed"))
    expect(await exists(seen)).toBe(false)
  })

  it("drops the database when the work is interrupted", async () => {
    let seen = ""
    const fiber = Effect.runFork(
      Effect.scoped(
        Effect.gen(function*() {
          seen = (yield* scratch().make("cp_test_scratch_interrupt")).name
          return yield* Effect.never
        })
      )
    )
    while (seen === "") await new Promise((resolve) => setTimeout(resolve, 20))
    expect(await exists(seen)).toBe(true)
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(await exists(seen)).toBe(false)
  })

  it("when the work fails and the drop fails too, the work's error wins", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.gen(function*() {
          yield* makeUndroppable((yield* scratch().make("cp_test_scratch_both")).name)
          return yield* Effect.fail("the work failed")
        })
      )
    )
    expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toBe("the work failed")
  })

  it("when the work succeeds but the drop fails, the drop's failure is reported", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.gen(function*() {
          yield* makeUndroppable((yield* scratch().make("cp_test_scratch_drop")).name)
          return "done"
        })
      )
    )
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? (Cause.squash(exit.cause) as ScratchDatabaseError) : undefined
    expect(error?._tag).toBe("ScratchDatabaseError")
    expect(error?.message).toMatch(/^dropping the scratch database cp_test_scratch_drop_\w+ failed on the scratch-database server: cannot drop a template database/)
  })
})

describe("ScratchDatabase failures are one sentence naming the setting, never its value", () => {
  const failureOf = (url: string) =>
    Effect.runPromise(Effect.flip(Effect.scoped(makeScratchDatabase(Redacted.make(url)).make("cp_test_scratch_bad"))))

  it("a role without CREATEDB", async () => {
    const role = `cp_test_nocreatedb_${randomBytes(4).toString("hex")}`
    await runSql(adminUrl(), `CREATE ROLE ${role} LOGIN`)
    try {
      const url = new URL(adminUrl())
      url.username = role
      const error = await failureOf(url.toString())
      expect(error.reason).toBe("PermissionDenied")
      expect(error.message).toBe(
        "the role of CONTROL_PLANE_ADMIN_URL may not create databases (CREATEDB), which the schema tools need for their scratch databases: grant it CREATEDB or point CONTROL_PLANE_ADMIN_URL at a role that has it"
      )
    } finally {
      await runSql(adminUrl(), `DROP ROLE ${role}`)
    }
  })

  it("a server that refuses the connection", async () => {
    const error = await failureOf("postgres://someone:pw-1234567@127.0.0.1:1/postgres")
    expect(error.reason).toBe("ServerUnreachable")
    expect(error.message).toBe("the scratch-database server (CONTROL_PLANE_ADMIN_URL) cannot be reached or refused the login while creating a scratch database")
  })

  it("a setting that is not a URL", async () => {
    const error = await failureOf("not a url")
    expect(error).toMatchObject({ reason: "InvalidUrl", message: "CONTROL_PLANE_ADMIN_URL is not a valid PostgreSQL URL" })
  })
})
