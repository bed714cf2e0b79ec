/**
 * A Db on a migrated database of the test file's own, for `it.layer(...)`.
 * The layer also exposes MigratedDatabase (its name and URL), for tests that
 * need a second, bare connection.
 */
import { Effect, Layer, Redacted } from "effect"
import { DatabaseConfig } from "../../src/db/DatabaseConfig.ts"
import type { DatabaseSettings } from "../../src/db/DatabaseConfig.ts"
import { Db } from "../../src/db/Db.ts"
import { MigratedDatabase } from "../support/testDatabase.ts"

/** Db over MigratedDatabase, with optional overrides of the default settings. */
export const dbOnMigratedDatabase = (settings: Partial<Omit<DatabaseSettings, "url">> = {}) =>
  Layer.unwrap(
    Effect.gen(function*() {
      const database = yield* MigratedDatabase
      return Db.layerNoDeps.pipe(
        Layer.provide(DatabaseConfig.layerWith({ ...settings, url: Redacted.make(database.url) }))
      )
    })
  )

/** A fresh migrated database (cp_test_<label>_...) with a Db on it; dropped when the layer closes. */
export const testDbLayer = (label: string, settings: Partial<Omit<DatabaseSettings, "url">> = {}) =>
  dbOnMigratedDatabase(settings).pipe(Layer.provideMerge(MigratedDatabase.layer(label)))
