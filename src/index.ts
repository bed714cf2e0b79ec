/**
 * The control-plane library. Provide `ControlPlane.layer` once, then use the
 * services: `Tenants`, `TenantDatabases`, `SystemConfig`, `AuditTrail`,
 * `TenantConnections`, `DatabaseServers`. Writes and reveals also need an
 * `Actor` (who acts, for the audit trail).
 */
export * as ControlPlane from "./ControlPlane.ts"

export { Tenants, type TenantPage, type TenantsService, type CreateTenantInput, type ListTenantsInput } from "./services/Tenants.ts"
export {
  TenantDatabases,
  type KeyUsage,
  type ReencryptOptions,
  type ReencryptProgress,
  type RegisterTenantDatabaseInput,
  type TenantDatabasesService
} from "./services/TenantDatabases.ts"
export { SystemConfig, type ConfigSchema, type SystemConfigService } from "./services/SystemConfig.ts"
export {
  type AddDatabaseServerInput,
  DatabaseServers,
  type DatabaseServersService
} from "./services/DatabaseServers.ts"
export { Actor, actorContext, ActorName, type ActorService } from "./services/Actor.ts"
export { AuditTrail, type AuditTrailService } from "./services/AuditTrail.ts"
export { canonicalContent, canonicalFields, type CanonicalTexts, eventHash, genesisHash } from "./services/auditChain.ts"
export {
  metrics as TenantConnectionsMetrics,
  type ResolvedTenant,
  TenantConnections,
  type TenantConnectionsService,
  type TenantDb,
  type WithTenantError
} from "./services/TenantConnections.ts"
export {
  TenantConnectionsConfig,
  TenantConnectionsConfigError,
  type TenantConnectionsSettings
} from "./services/TenantConnections/config.ts"

export * from "./domain/enums.ts"
export {
  NoActiveDatabase,
  Tenant,
  TenantId,
  TenantName,
  TenantNameTaken,
  TenantNotActive,
  TenantNotFound
} from "./domain/Tenant.ts"
export { IllegalTransition, SystemTenantProtected, systemTenantName } from "./domain/Lifecycle.ts"
/** Maps the lifecycle trigger's refusal (a DbError) to IllegalTransition, for SQL that moves a status itself. */
export { transitionRefusal } from "./services/lifecycleErrors.ts"
export { ConnectionBudgetExhausted, type TenantConnectionsStats } from "./domain/TenantConnections.ts"
export {
  ConnectionString,
  DatabaseHost,
  DatabaseName,
  DatabasePort,
  TenantDatabase,
  TenantDatabaseId,
  TenantDatabaseNotFound
} from "./domain/TenantDatabase.ts"
export {
  DatabaseServer,
  DatabaseServerId,
  DatabaseServerNameTaken,
  DatabaseServerNotFound,
  MaxDatabases,
  ServerName
} from "./domain/DatabaseServer.ts"
export { ConfigEntry, ConfigKey, ConfigKeyNotFound, ConfigValueInvalid } from "./domain/SystemConfig.ts"
export {
  AuditAction,
  auditActions,
  AuditChainBroken,
  AuditEntityType,
  auditEntityTypes,
  AuditEvent,
  AuditEventPage,
  ChainReport,
  AuditReason,
  ChainProblem,
  ListAuditEventsInput,
  maxRetentionDays,
  PurgeAuditEventsInput,
  PurgeReport
} from "./domain/AuditEvent.ts"
export { DbError, type DbErrorReason, InvalidInput } from "./domain/errors.ts"

export {
  ConnectionStringCrypto,
  type DecryptError,
  DecryptionFailed,
  MalformedEnvelope,
  UnknownKeyId
} from "./crypto/ConnectionStringCrypto.ts"
export { KeyId, KeyProvider, KeyRing, KeyRingError } from "./crypto/KeyRing.ts"
export { Db, type DbService, sql } from "./db/Db.ts"
/** The row types generated from the database (npm run db:types), one per control_plane table. */
export type * as Rows from "./db/generated/index.ts"
export { DatabaseConfig, DatabaseConfigError } from "./db/DatabaseConfig.ts"
export { ENCRYPTION_KEYS_VAR, loadKeyRing, PRIMARY_KEY_ID_VAR } from "./crypto/EncryptionConfig.ts"
