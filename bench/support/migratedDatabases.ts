/**
 * Scratch databases for the benchmarks, migrated by the versioned path
 * (the schema engine's migrate apply) on the server of DATABASE_URL (default:
 * the local PostgreSQL as its superuser), and dropped afterwards, whatever
 * happens in between.
 */
import { Effect, Layer, Redacted } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Engine } from "../../cli/src/engine/Engine.ts"
import { applyMigrations } from "../../cli/src/schema/apply.ts"
import { SchemaProject } from "../../cli/src/schema/Project.ts"
import { ScratchDatabase } from "../../cli/src/schema/ScratchDatabase.ts"

/** The server the benchmarks create their databases on. */
export const serverUrl = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres"

const tools = Layer.mergeAll(
  Engine.layer,
  SchemaProject.layer,
  NodeServices.layer,
  ScratchDatabase.layerAt(Redacted.make(serverUrl))
)

/**
 * Runs `use` with one migrated database per label (their URLs, in order);
 * every one is dropped when `use` settles.
 */
export const withMigratedDatabases = <A>(
  labels: ReadonlyArray<string>,
  use: (urls: ReadonlyArray<string>) => Promise<A>
): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const scratch = yield* ScratchDatabase
        const urls: Array<string> = []
        for (const label of labels) {
          const database = yield* scratch.make(label)
          yield* applyMigrations(database.url)
          urls.push(Redacted.value(database.url))
        }
        return yield* Effect.promise(() => use(urls))
      })
    ).pipe(Effect.provide(tools))
  )
