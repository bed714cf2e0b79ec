/**
 * A Db on a migrated database of the test file's own, for `it.layer(...)`.
 * The layer also exposes MigratedDatabase (its name and URL), for tests that
 * need a second, bare connection. Also a Db on a server that refuses every
 * connection, for the tests that services map that to DbError.
 */
import { assert } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { DatabaseConfig } from "../../src/db/DatabaseConfig.ts"
import type { DatabaseSettings } from "../../src/db/DatabaseConfig.ts"
import { Db } from "../../src/db/Db.ts"
import { Actor } from "../../src/services/Actor.ts"
import { MigratedDatabase } from "../support/testDatabase.ts"

/** Db over MigratedDatabase (and its DatabaseConfig), with optional overrides of the default settings. */
export const dbOnMigratedDatabase = (settings: Partial<Omit<DatabaseSettings, "url">> = {}) =>
  Layer.unwrap(
    Effect.gen(function*() {
      const database = yield* MigratedDatabase
      return Db.layerNoDeps.pipe(
        Layer.provideMerge(DatabaseConfig.layerWith({ ...settings, url: Redacted.make(database.url) }))
      )
    })
  )

/** A fresh migrated database (cp_test_<label>_...) with a Db on it; dropped when the layer closes. */
export const testDbLayer = (label: string, settings: Partial<Omit<DatabaseSettings, "url">> = {}) =>
  dbOnMigratedDatabase(settings).pipe(Layer.provideMerge(MigratedDatabase.layer(label)))

/** The Actor the services' writes run as in tests (the audit trail records it). */
export const testActor = (name = "test-suite") => Layer.succeed(Actor, Actor.of({ name }))

/** A Db whose server refuses every connection: nothing listens on port 1. */
export const unreachableDbLayer = Db.layerNoDeps.pipe(
  Layer.provide(DatabaseConfig.layerWith({ url: Redacted.make("postgres://control:pw@127.0.0.1:1/control_plane") }))
)

/** Runs every operation, all at once, and asserts that each fails with DbError(ConnectionError). */
export const assertEachFailsWithConnectionError = <R>(
  operations: ReadonlyArray<Effect.Effect<unknown, { readonly _tag: string; readonly reason?: { readonly _tag: string } }, R>>
) =>
  Effect.gen(function*() {
    const errors = yield* Effect.all(operations.map((operation) => Effect.flip(operation)), { concurrency: "unbounded" })
    for (const error of errors) {
      assert.strictEqual(error._tag, "DbError")
      assert.strictEqual(error.reason?._tag, "ConnectionError")
    }
  })
