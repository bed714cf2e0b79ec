/**
 * The one layer a backend program provides: every control-plane service wired
 * to one database pool and one key ring, both read from configuration
 * (environment variables by default, or any effect ConfigProvider):
 *
 *   DATABASE_URL                       the control-plane database (Redacted)
 *   CONTROL_PLANE_POOL_SIZE, ...       pool settings (src/db/DatabaseConfig.ts)
 *   CONTROL_PLANE_ENCRYPTION_KEYS      "id:base64,id:base64", 32-byte keys
 *   CONTROL_PLANE_PRIMARY_KEY_ID       the id of the key that encrypts
 *
 * Writes (and reveals) also need an Actor, which this layer does not provide:
 * it names who acts, so it belongs to each request or job (`Actor.layer(name)`,
 * or `Effect.provideService(Actor, ...)` per request).
 *
 * Building the layer fails with a ConfigError or a KeyRingError that says, in
 * one sentence, what is missing or malformed (never a key or the URL). The pool
 * is closed when the layer's scope closes.
 */
import { Layer } from "effect"
import { ConnectionStringCrypto } from "./crypto/ConnectionStringCrypto.ts"
import { Db } from "./db/Db.ts"
import { AuditTrail } from "./services/AuditTrail.ts"
import { DatabaseServers } from "./services/DatabaseServers.ts"
import { SystemConfig } from "./services/SystemConfig.ts"
import { TenantDatabases } from "./services/TenantDatabases.ts"
import { Tenants } from "./services/Tenants.ts"

/** The services, with Db and ConnectionStringCrypto still to provide. */
export const layerNoDeps = Layer.mergeAll(
  Tenants.layerNoDeps,
  TenantDatabases.layerNoDeps,
  SystemConfig.layerNoDeps,
  AuditTrail.layerNoDeps,
  DatabaseServers.layerNoDeps
)

/** Tenants, TenantDatabases, SystemConfig, AuditTrail, DatabaseServers, plus the Db and ConnectionStringCrypto they share. */
export const layer = layerNoDeps.pipe(
  Layer.provideMerge(Layer.merge(Db.layer, ConnectionStringCrypto.layer))
)
