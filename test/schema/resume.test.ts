/**
 * `db migrate` after a partial failure: a file that runs outside a
 * transaction (`-- atlas:txmode none`) and fails at statement k is recorded
 * as k-1 of n statements applied; the failure is one sentence naming the
 * file and the statement; the next run, once the cause is fixed, resumes at
 * statement k (statement 1 would fail if it ran again) and completes the file.
 */
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Engine, type EngineError } from "../../cli/src/engine/Engine.ts"
import { applyMigrations } from "../../cli/src/schema/apply.ts"
import { SchemaProject } from "../../cli/src/schema/Project.ts"
import { scratchProject, type ScratchProject } from "../gate/scratch.ts"
import { runTools } from "../support/schemaTools.ts"
import { createMigratedTestDatabase, runSql, type TestDatabase, withConnection } from "../support/testDatabase.ts"
import { sql } from "@databases/pg"

const file = "20300101000000_resume.sql"

let project: ScratchProject
let database: TestDatabase

beforeAll(async () => {
  project = await scratchProject("resume")
  await project.add({
    [file]: [
      "-- atlas:txmode none",
      "",
      `CREATE TABLE "control_plane"."resume_first" ("id" integer);`,
      `INSERT INTO "control_plane"."resume_missing" VALUES (1);`,
      `CREATE TABLE "control_plane"."resume_last" ("id" integer);`,
      ""
    ].join("\n")
  })
  database = await createMigratedTestDatabase("resume")
})

afterAll(async () => {
  await project?.remove()
  await database?.drop()
})

const migrate = () => runTools(applyMigrations(Redacted.make(database.url)), project.root)
const status = () =>
  runTools(
    Effect.gen(function*() {
      const engine = yield* Engine
      return yield* engine.migrateStatus(yield* SchemaProject, { url: Redacted.make(database.url) })
    }),
    project.root
  )

const tables = () =>
  withConnection(database.url, async (db) =>
    (await db.query(sql`SELECT tablename FROM pg_tables WHERE schemaname = 'control_plane' AND tablename LIKE 'resume%' ORDER BY 1`)).map(
      (row) => row.tablename as string
    ))

describe("db migrate resumes a partially applied file", () => {
  it("fails at statement 2 in one sentence, recording 1 of 3 statements applied", async () => {
    const error = await runTools(Effect.flip(applyMigrations(Redacted.make(database.url))), project.root) as EngineError
    expect(error.reason).toBe("MigrationFailed")
    expect(error.message).toContain(file)
    expect(error.message).toMatch(/statement 2\b/)
    expect(error.message.split("\n")).toHaveLength(1)
    expect((await status()).partial).toMatchObject({ version: "20300101000000", applied: 1, total: 3 })
    expect(await tables()).toEqual(["resume_first"])
  })

  it("once fixed, the next run resumes at statement 2 and completes the file", async () => {
    await runSql(database.url, `CREATE TABLE "control_plane"."resume_missing" ("id" integer)`)
    const result = await migrate()
    expect(result.applied).toEqual([expect.objectContaining({ version: "20300101000000", statements: 2 })])
    expect(await tables()).toEqual(["resume_first", "resume_last", "resume_missing"])
    expect(await status()).toMatchObject({ pending: [], partial: null })
  })
})
