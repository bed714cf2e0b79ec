/**
 * src/db/generated/ is what `npm run db:types` makes of the migrations today:
 * regenerate into a temporary directory and compare with the committed files.
 * A migration that changes a table without regenerating fails here.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { generatedDirectory, generateRowTypes, toNodeNextEsm } from "../../cli/src/schema/generateTypes.ts"
import { schemaTools } from "../support/schemaTools.ts"

const readTree = (directory: string) =>
  Effect.promise(async () => {
    const names = (await readdir(directory)).sort()
    return Object.fromEntries(
      await Promise.all(names.map(async (name) => [name, await readFile(path.join(directory, name), "utf8")] as const))
    )
  })

describe("generated row types", () => {
  it.effect("the committed files are exactly what the migrations generate", () =>
    Effect.gen(function*() {
      const directory = yield* Effect.acquireRelease(
        Effect.promise(() => mkdtemp(path.join(tmpdir(), "cp-types-test-"))),
        (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
      )
      const written = yield* generateRowTypes(directory).pipe(Effect.provide(schemaTools()))
      assert.deepStrictEqual(written, [
        "_enums.ts",
        "audit_events.ts",
        "database_servers.ts",
        "fleet_migrations.ts",
        "fleet_runs.ts",
        "index.ts",
        "system_config.ts",
        "tenant_databases.ts",
        "tenant_provisioning.ts",
        "tenants.ts"
      ])
      const fresh = yield* readTree(directory)
      const committed = yield* readTree(generatedDirectory)
      assert.deepStrictEqual(Object.keys(committed), Object.keys(fresh), "file names differ: run npm run db:types")
      for (const [name, content] of Object.entries(fresh)) {
        assert.strictEqual(committed[name], content, `${name} is stale: run npm run db:types`)
      }
    }), 120_000)

  it("rewrites the generator's CommonJS-style modules for NodeNext ESM", () => {
    const source = [
      " * Checksum: abc",
      "import SystemConfig, {SystemConfig_InsertParameters} from './system_config'",
      "import {DatabaseStatus} from './_enums'",
      "import Tenants from './tenants'",
      "export default Tenants;"
    ].join("\n")
    assert.strictEqual(
      toNodeNextEsm(source),
      [
        " * Checksum: abc",
        " * Post-processed by cli/src/schema/generateTypes.ts: type-only imports and exports, .ts extensions (NodeNext ESM).",
        "import type { default as SystemConfig, SystemConfig_InsertParameters } from './system_config.ts'",
        "import type { DatabaseStatus } from './_enums.ts'",
        "import type { default as Tenants } from './tenants.ts'",
        "export type { Tenants as default }"
      ].join("\n")
    )
  })

  it.effect("types jsonb as unknown, not any", () =>
    Effect.gen(function*() {
      const source = yield* Effect.promise(() => readFile(path.join(generatedDirectory, "system_config.ts"), "utf8"))
      assert.include(source, "value: unknown")
      assert.notInclude(source, ": any")
    }))
})
