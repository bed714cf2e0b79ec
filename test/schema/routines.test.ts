/**
 * routines.hcl, read by the schema engine (`hcl json`) and rendered by
 * cli/src/schema/routines.ts: a broken file stops db apply before anything
 * is written, with one sentence naming the file (and the line, for a syntax
 * error).
 *
 * The renderer reads the checkout's routines.hcl; these tests hand the real
 * engine a broken copy in its place (an Engine layer that redirects that one
 * path), so the checkout is never touched.
 */
import { sql } from "@databases/pg"
import { Effect, Exit, Layer, Redacted } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Engine } from "../../cli/src/engine/Engine.ts"
import { applyDesiredState } from "../../cli/src/schema/apply.ts"
import { projectFile } from "../../cli/src/schema/paths.ts"
import { SchemaProject } from "../../cli/src/schema/Project.ts"
import { renderRoutines } from "../../cli/src/schema/routines.ts"
import { ScratchDatabase } from "../../cli/src/schema/ScratchDatabase.ts"
import { runTools } from "../support/schemaTools.ts"
import { createTestDatabase, type TestDatabase, withConnection } from "../support/testDatabase.ts"

let folder: string
let target: TestDatabase

beforeAll(async () => {
  folder = await mkdtemp(path.join(tmpdir(), "cp-routines-"))
  target = await createTestDatabase("routines_invalid")
})
afterAll(async () => {
  await rm(folder, { recursive: true, force: true })
  await target?.drop()
})

/** The real engine, reading `routinesFile` where the renderer asks for the checkout's routines.hcl. */
const engineReading = (routinesFile: string) =>
  Layer.effect(
    Engine,
    Effect.gen(function*() {
      const engine = yield* Engine
      return Engine.of({
        ...engine,
        hclJson: (files) => engine.hclJson(files.map((file) => (file === projectFile("routines.hcl") ? routinesFile : file)))
      })
    })
  ).pipe(Layer.provide(Engine.layer))

const toolsReading = (routinesFile: string) =>
  Layer.mergeAll(engineReading(routinesFile), ScratchDatabase.layer, SchemaProject.layer, NodeServices.layer)

/** Runs `effect` with the schema tools, routines.hcl replaced by `text`; gives its exit. */
const withRoutines = async <A, E>(
  name: string,
  text: string,
  effect: Effect.Effect<A, E, Layer.Success<ReturnType<typeof toolsReading>>>
) => {
  const dir = path.join(folder, name)
  await mkdir(dir)
  const file = path.join(dir, "routines.hcl")
  await writeFile(file, text)
  return Effect.runPromise(
    Effect.exit(effect).pipe(
      Effect.provide(toolsReading(file))
    )
  )
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
    const exit = await withRoutines("syntax", lines.join("\n"), applyDesiredState(Redacted.make(target.url)))
    const error = failureOf(exit)
    expect(error).toMatchObject({ _tag: "EngineError", reason: "SchemaInvalid" })
    expect((error as { message: string }).message).toMatch(new RegExp(`^routines\\.hcl line ${broken + 1}: `))
    expect(await schemas()).toEqual(["public"])
  })

  it("a block the renderer cannot use: RoutinesInvalid in one sentence, and db apply writes nothing", async () => {
    const text = `trigger "t" {\n  on = table.tenants\n  before {\n    update = true\n  }\n  for = ROW\n  execute {\n    function = function.missing\n  }\n}\n`
    const exit = await withRoutines("unusable", text, applyDesiredState(Redacted.make(target.url)))
    expect(failureOf(exit)).toMatchObject({ _tag: "RoutinesInvalid", message: "routines.hcl: function missing must be declared once" })
    expect(await schemas()).toEqual(["public"])
  })

  it("the checkout's routines.hcl renders every construct it uses: events joined in one timing, volatility, lang", async () => {
    const { sql: rendered } = await runTools(renderRoutines)
    expect(rendered).toContain(`CREATE OR REPLACE TRIGGER "audit_events_guard"\nBEFORE DELETE OR UPDATE ON "control_plane"."audit_events"\nFOR EACH ROW`)
    expect(rendered).toContain(`FOR EACH STATEMENT\nEXECUTE FUNCTION "control_plane"."audit_events_guard"();`)
    expect(rendered).toContain(`"lifecycle_moves"()\nRETURNS jsonb\nLANGUAGE sql\nIMMUTABLE\nAS $$\nSELECT '{`)
    expect(rendered).toContain(`"update_updated_at_column"()\nRETURNS trigger\nLANGUAGE plpgsql\nAS $$\nBEGIN\n  NEW.updated_at = now();`)
  })
})
