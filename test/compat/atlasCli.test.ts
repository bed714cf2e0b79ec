/**
 * GitOps compatibility: the project's own atlas.hcl and migrations/ work
 * with the official atlas CLI (here the pinned community build, v0.13.1, in
 * .bin/atlas, which supports PostgreSQL up to 15), and the CLI and the
 * schema engine share one revision table:
 *   - the CLI reads the engine's history (status clean, apply applies nothing);
 *   - the CLI continues a history the engine started;
 *   - the engine continues a history the CLI started.
 *
 * Run by `npm run test:compat` (which builds .bin/atlas first), not by `npm test`.
 */
import { execFile } from "node:child_process"
import { readFile, rm } from "node:fs/promises"
import path from "node:path"
import { promisify } from "node:util"
import { Effect, Redacted } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { Engine } from "../../cli/src/engine/Engine.ts"
import { applyMigrations } from "../../cli/src/schema/apply.ts"
import { projectFile } from "../../cli/src/schema/paths.ts"
import { SchemaProject } from "../../cli/src/schema/Project.ts"
import { hash, scratchProject, type ScratchProject } from "../gate/scratch.ts"
import { runTools } from "../support/schemaTools.ts"
import { createTestDatabase, type TestDatabase } from "../support/testDatabase.ts"

const run = promisify(execFile)

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const database = async (label: string): Promise<TestDatabase> => {
  const created = await createTestDatabase(`compat_${label}`)
  cleanups.push(created.drop)
  return created
}

/** lib/pq (inside the CLI) insists on TLS unless told otherwise; the local server has none. */
const forCli = (url: string): string => {
  const parsed = new URL(url)
  parsed.searchParams.set("sslmode", "disable")
  return parsed.toString()
}

/** The official CLI on a project folder (atlas.hcl's env "local"), the URL in the environment as atlas.hcl reads it. */
const atlas = async (root: string, url: string, ...args: ReadonlyArray<string>): Promise<string> => {
  const { stdout } = await run(projectFile(".bin/atlas"), [...args, "--env", "local"], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: forCli(url), ATLAS_NO_UPDATE_NOTIFIER: "1", ATLAS_NO_UPGRADE_SUGGESTIONS: "1" }
  })
  return stdout
}

const migrationFiles = async (directory: string): Promise<ReadonlyArray<string>> =>
  (await readFile(path.join(directory, "atlas.sum"), "utf8")).split("\n").slice(1).filter((line) => line !== "").map((line) => line.split(" ")[0]!)

/** A copy of the project whose history stops after its first `count` files. */
const firstFiles = async (count: number): Promise<ScratchProject> => {
  const project = await scratchProject("compat")
  cleanups.push(project.remove)
  for (const file of (await migrationFiles(project.directory)).slice(count)) await rm(path.join(project.directory, file))
  await hash(project.root)
  return project
}

const engineMigrate = (url: string, root?: string) => runTools(applyMigrations(Redacted.make(url)), root)
const engineStatus = (url: string) =>
  runTools(Effect.gen(function*() {
    const engine = yield* Engine
    return yield* engine.migrateStatus(yield* SchemaProject, { url: Redacted.make(url) })
  }))

/** Splits the project's history in two, both halves non-empty. */
const splitPoint = async (): Promise<number> => {
  const count = (await migrationFiles(projectFile("migrations"))).length
  expect(count).toBeGreaterThanOrEqual(2)
  return Math.ceil(count / 2)
}

describe("the official atlas CLI and the schema engine share the migration history", () => {
  it("the CLI reads the engine's revision table: status clean, apply applies nothing", async () => {
    const target = await database("reads")
    await engineMigrate(target.url)
    const status = await atlas(projectFile("."), target.url, "migrate", "status")
    expect(status).toContain("Migration Status: OK")
    expect(status).toMatch(/Pending Files:\s+0/)
    expect(await atlas(projectFile("."), target.url, "migrate", "apply")).toContain("No migration files to execute")
  })

  it("the CLI continues a history the engine started", async () => {
    const target = await database("cli_continues")
    const half = await splitPoint()
    const first = await firstFiles(half)
    expect((await engineMigrate(target.url, first.root)).applied).toHaveLength(half)
    const applied = await atlas(projectFile("."), target.url, "migrate", "apply")
    const total = (await migrationFiles(projectFile("migrations"))).length
    expect(applied).toContain(`${total - half} migrations in total`)
    expect(await engineStatus(target.url)).toMatchObject({ pending: [], partial: null, applied: total })
  })

  it("the engine continues a history the CLI started", async () => {
    const target = await database("engine_continues")
    const half = await splitPoint()
    await atlas(projectFile("."), target.url, "migrate", "apply", String(half))
    const total = (await migrationFiles(projectFile("migrations"))).length
    expect((await engineStatus(target.url)).pending).toHaveLength(total - half)
    expect((await engineMigrate(target.url)).applied).toHaveLength(total - half)
    const status = await atlas(projectFile("."), target.url, "migrate", "status")
    expect(status).toContain("Migration Status: OK")
    expect(status).toMatch(new RegExp(`Executed Files:\\s+${total}`))
  })
})
