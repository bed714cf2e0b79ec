/**
 * The schema tools' services for tests: the engine, squawk, git and the
 * scratch-database server (CONTROL_PLANE_ADMIN_URL, the local server by
 * default), on this checkout or on a scratch copy of it.
 */
import { Effect, Layer, Redacted } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Engine } from "../../cli/src/engine/Engine.ts"
import { Git } from "../../cli/src/schema/Git.ts"
import { SchemaProject } from "../../cli/src/schema/Project.ts"
import { adminUrlConfig, ScratchDatabase } from "../../cli/src/schema/ScratchDatabase.ts"
import { Squawk } from "../../cli/src/schema/Squawk.ts"
import { makeCli } from "../cli/harness.ts"

/** The scratch-database server of the tests, as the tools read it. */
export const adminUrl = (): string =>
  Redacted.value(Effect.runSync(Effect.gen(function*() {
    return yield* adminUrlConfig
  })))

const services = Layer.mergeAll(Engine.layer, ScratchDatabase.layer, Squawk.layer, Git.layer, NodeServices.layer)

/** Every service of the schema tools, on the project in `root` (default: this checkout). */
export const schemaTools = (root?: string) =>
  Layer.merge(services, root === undefined ? SchemaProject.layer : SchemaProject.layerAt(root))

/** Runs a schema-tools effect as a promise, on the project in `root` (default: this checkout). */
export const runTools = <A, E>(
  effect: Effect.Effect<A, E, Layer.Success<ReturnType<typeof schemaTools>>>,
  root?: string
): Promise<A> => Effect.runPromise(Effect.provide(effect, schemaTools(root)))

/** The CLI as a subprocess (test/cli/harness.ts), its scratch databases on the tests' server. */
export const dbCli = (env: Record<string, string> = {}, secrets: Array<string> = []) =>
  makeCli({ CONTROL_PLANE_ADMIN_URL: adminUrl(), ...env }, secrets)
