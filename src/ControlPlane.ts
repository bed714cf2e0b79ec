/**
 * The one layer a backend program provides: every control-plane service wired
 * to one database pool and one key ring, both read from configuration
 * (environment variables by default, or any effect ConfigProvider):
 *
 *   DATABASE_URL                       the control-plane database (Redacted)
 *   CONTROL_PLANE_POOL_SIZE, ...       pool settings (src/db/DatabaseConfig.ts)
 *   CONTROL_PLANE_ENCRYPTION_KEYS      "id:base64,id:base64", 32-byte keys
 *   CONTROL_PLANE_PRIMARY_KEY_ID       the id of the key that encrypts
 *   CONTROL_PLANE_CONNECTION_BUDGET, ... tenant connection settings
 *                                      (src/services/TenantConnections/config.ts)
 *
 * Writes (and reveals) also need an Actor, which this layer does not provide:
 * it names who acts, so it belongs to each request or job (`Actor.layer(name)`,
 * or `Effect.provideService(Actor, ...)` per request).
 *
 * Building the layer fails with a ConfigError, KeyRingError or
 * TenantConnectionsConfigError that says, in one sentence, what is missing or
 * malformed (never a key or the URL). The pools are closed when the layer's
 * scope closes. TenantConnections opens nothing until it is first used (its
 * invalidation listener starts then); `layerWithoutConnections` leaves it out
 * altogether, for programs that never route a tenant.
 */
import { Layer } from "effect"
import { ConnectionStringCrypto } from "./crypto/ConnectionStringCrypto.ts"
import { DatabaseConfig } from "./db/DatabaseConfig.ts"
import { Db } from "./db/Db.ts"
import { AuditTrail } from "./services/AuditTrail.ts"
import { DatabaseServers } from "./services/DatabaseServers.ts"
import { SystemConfig } from "./services/SystemConfig.ts"
import { TenantConnections } from "./services/TenantConnections.ts"
import { TenantConnectionsConfig } from "./services/TenantConnections/config.ts"
import { TenantDatabases } from "./services/TenantDatabases.ts"
import { Tenants } from "./services/Tenants.ts"

/** Tenants, TenantDatabases, SystemConfig, AuditTrail and DatabaseServers, with Db and ConnectionStringCrypto still to provide. */
export const layerNoDeps = Layer.mergeAll(
  Tenants.layerNoDeps,
  TenantDatabases.layerNoDeps,
  SystemConfig.layerNoDeps,
  AuditTrail.layerNoDeps,
  DatabaseServers.layerNoDeps
)

/** Db, ConnectionStringCrypto and DatabaseConfig, from configuration. */
const infrastructure = Layer.mergeAll(Db.layerNoDeps, ConnectionStringCrypto.layer).pipe(
  Layer.provideMerge(DatabaseConfig.layer)
)

/** Every service, TenantConnections included, plus the Db, ConnectionStringCrypto and DatabaseConfig they share. */
export const layer = Layer.mergeAll(layerNoDeps, TenantConnections.layerNoDeps).pipe(
  Layer.provide(TenantConnectionsConfig.layer),
  Layer.provideMerge(infrastructure)
)

/** Tenants, TenantDatabases, SystemConfig, AuditTrail and DatabaseServers, plus what they share: no TenantConnections. */
export const layerWithoutConnections = layerNoDeps.pipe(Layer.provideMerge(infrastructure))
