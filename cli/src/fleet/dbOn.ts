/** A connection of its own to a database other than the control plane: a server's admin database, a tenant's. */
import { Context, Effect, Layer } from "effect"
import type { Redacted, Scope } from "effect"
import { DatabaseConfig, Db, type DbService } from "../library.ts"

/**
 * A Db of its own on `url` with up to `poolSize` connections (default one),
 * closed with the scope. Layer.fresh: layers are memoized, and without it the
 * build would hand back the control plane's Db instead of one on `url`.
 */
export const dbOn = (url: Redacted.Redacted<string>, poolSize = 1): Effect.Effect<DbService, never, Scope.Scope> =>
  Layer.build(Layer.fresh(Db.layerNoDeps).pipe(Layer.provide(DatabaseConfig.layerWith({ url, poolSize })))).pipe(
    // A stored connection string the driver refuses: a defect, as before (its
    // DatabaseConfigError would name DATABASE_URL, which this URL is not).
    Effect.orDie,
    Effect.map((context) => Context.get(context, Db))
  )
