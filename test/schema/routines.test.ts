/**
 * routines.hcl, read by the schema engine (`hcl json`) and rendered by
 * cli/src/schema/routines.ts: a broken file stops db apply before anything
 * is written, with one sentence naming the file (and the line, for a syntax
 * error). The broken files are in scratch copies of the project.
 */
import { sql } from "@databases/pg"
import { Effect, Exit, Redacted } from "effect"
import { readFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { applyDesiredState } from "../../cli/src/schema/apply.ts"
import { projectFile } from "../../cli/src/schema/paths.ts"
import { renderRoutines } from "../../cli/src/schema/routines.ts"
import { scratchProject, type ScratchProject } from "../gate/scratch.ts"
import { runTools, schemaTools } from "../support/schemaTools.ts"
import { createTestDatabase, type TestDatabase, withConnection } from "../support/testDatabase.ts"

let target: TestDatabase
let project: ScratchProject | undefined

beforeAll(async () => {
  target = await createTestDatabase("routines_invalid")
})
afterAll(() => target?.drop())
afterEach(async () => {
  await project?.remove()
  project = undefined
})

/** db apply's declarative path on the target, on a scratch project whose routines.hcl is `text`; gives its exit. */
const applyWithRoutines = async (label: string, text: string) => {
  project = await scratchProject(label)
  await writeFile(path.join(project.root, "routines.hcl"), text)
  return Effect.runPromise(Effect.exit(applyDesiredState(Redacted.make(target.url))).pipe(Effect.provide(schemaTools(project.root))))
}

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const [reason] = exit.cause.reasons
  if (reason === undefined || reason._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return reason.error
}

/** The schemas of the target database: nothing written means only public. */
const schemas = () =>
  withConnection(target.url, async (db) =>
    (await db.query(sql`SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1`)).map(
      (row) => row.nspname as string
    ))

describe("a broken routines.hcl", () => {
  it("a syntax error: SchemaInvalid naming routines.hcl and the line, and db apply writes nothing", async () => {
    const lines = (await readFile(projectFile("routines.hcl"), "utf8")).split("\n")
    const broken = lines.findIndex((line) => line.startsWith(`trigger "update_tenants_updated_at"`)) + 1
    lines[broken] = "  on = "
    const error = failureOf(await applyWithRoutines("routines_syntax", lines.join("\n")))
    expect(error).toMatchObject({ _tag: "EngineError", reason: "SchemaInvalid" })
    expect((error as { message: string }).message).toMatch(new RegExp(`^routines\\.hcl line ${broken + 1}: `))
    expect(await schemas()).toEqual(["public"])
  })

  it("a block the renderer cannot use: RoutinesInvalid in one sentence, and db apply writes nothing", async () => {
    const text = `trigger "t" {\n  on = table.tenants\n  before {\n    update = true\n  }\n  for = ROW\n  execute {\n    function = function.missing\n  }\n}\n`
    const error = failureOf(await applyWithRoutines("routines_unusable", text))
    expect(error).toMatchObject({ _tag: "RoutinesInvalid", message: "routines.hcl: function missing must be declared once" })
    expect(await schemas()).toEqual(["public"])
  })

  it("a search_path that is not schema names: RoutinesInvalid says so, and db apply writes nothing", async () => {
    const routines = await readFile(projectFile("routines.hcl"), "utf8")
    const pinned = /^(function "audit_events_guard" \{\n(?:  .*\n)*?)  search_path = "pg_catalog, pg_temp"\n/m
    expect(routines).toMatch(pinned)
    const error = failureOf(await applyWithRoutines("routines_bad_path", routines.replace(pinned, `$1  search_path = "pg_catalog; DROP TABLE x"\n`)))
    expect(error).toMatchObject({
      _tag: "RoutinesInvalid",
      message: `routines.hcl: function audit_events_guard's search_path must be schema names separated by ", ", found "pg_catalog; DROP TABLE x"`
    })
    expect(await schemas()).toEqual(["public"])
  })

  it("a trigger declared twice: RoutinesInvalid names it as a trigger, and db apply writes nothing", async () => {
    const routines = await readFile(projectFile("routines.hcl"), "utf8")
    const block = /^trigger "notify_tenants_truncate" \{\n(?:  .*\n|\n)*?\}\n/m.exec(routines)![0]
    const error = failureOf(await applyWithRoutines("routines_twice", `${routines}\n${block}`))
    expect(error).toMatchObject({ _tag: "RoutinesInvalid", message: "routines.hcl: trigger notify_tenants_truncate must be declared once" })
    expect(await schemas()).toEqual(["public"])
  })
})

describe("the checkout's routines.hcl", () => {
  it("renders every construct it uses: events joined in one timing, volatility, lang, the pinned search_path", async () => {
    const { sql: rendered } = await runTools(renderRoutines())
    expect(rendered).toContain(`CREATE OR REPLACE TRIGGER "audit_events_guard"\nBEFORE DELETE OR UPDATE ON "control_plane"."audit_events"\nFOR EACH ROW`)
    expect(rendered).toContain(`FOR EACH STATEMENT\nEXECUTE FUNCTION "control_plane"."audit_events_guard"();`)
    expect(rendered).toContain(`"lifecycle_moves"()\nRETURNS jsonb\nLANGUAGE sql\nIMMUTABLE\nSET search_path = pg_catalog, pg_temp\nAS $$\nSELECT '{`)
    expect(rendered).toContain(`"update_updated_at_column"()\nRETURNS trigger\nLANGUAGE plpgsql\nSET search_path = pg_catalog, pg_temp\nAS $$\nBEGIN\n  NEW.updated_at = now();`)
  })
})

describe("a routine taken out of routines.hcl", () => {
  it("is dropped by the rendered SQL once its trigger has moved on; the declared ones, and functions no routines migration made, stay", async () => {
    const { sql: rendered, functions } = await runTools(renderRoutines())
    await withConnection(target.url, async (db) => {
      await db.query(sql`DROP SCHEMA IF EXISTS control_plane CASCADE`)
      await db.query(sql`CREATE SCHEMA control_plane`)
      // What an older routines.hcl left behind: a function it no longer declares.
      await db.query(sql`CREATE FUNCTION control_plane.audit_row_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`)
      // Not ours to drop: no routines migration ever made it.
      await db.query(sql`CREATE FUNCTION control_plane.someone_elses() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$`)
    })
    await applyWithRoutines("routines_removed", await readFile(projectFile("routines.hcl"), "utf8"))
    const left = await withConnection(target.url, async (db) =>
      (await db.query(sql`SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                          WHERE n.nspname = 'control_plane' ORDER BY 1`)).map((row) => row.proname as string))
    expect(rendered).toContain(`-- No longer in routines.hcl.\nDROP FUNCTION IF EXISTS "control_plane"."audit_row_change"();`)
    expect(left).toEqual([...functions, "someone_elses"].sort())
  })

  it("a trigger is dropped from its table; one no routines migration made stays", async () => {
    const routines = await readFile(projectFile("routines.hcl"), "utf8")
    await applyWithRoutines("routines_all", routines)
    const triggersOnTenants = () =>
      withConnection(target.url, async (db) =>
        (await db.query(sql`SELECT tgname FROM pg_trigger WHERE tgrelid = 'control_plane.tenants'::regclass AND NOT tgisinternal
                            ORDER BY 1`)).map((row) => row.tgname as string))
    const before = await triggersOnTenants()
    expect(before).toContain("notify_tenants_truncate")
    await withConnection(target.url, (db) =>
      db.query(sql`CREATE TRIGGER someone_elses AFTER TRUNCATE ON control_plane.tenants
                   FOR EACH STATEMENT EXECUTE FUNCTION control_plane.notify_tenant_change()`))
    await project?.remove()
    const block = /^trigger "notify_tenants_truncate" \{\n(?:  .*\n|\n)*?\}\n/m
    expect(routines).toMatch(block)
    const exit = await applyWithRoutines("routines_trigger_removed", routines.replace(block, ""))
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(await triggersOnTenants()).toEqual([...before.filter((name) => name !== "notify_tenants_truncate"), "someone_elses"].sort())
  })
})
