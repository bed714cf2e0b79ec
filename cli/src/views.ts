/**
 * What `--json` prints, one view per command, each derived from the domain
 * Schemas: a record is encoded by its own Schema's JSON codec (dates as ISO
 * strings), and every list is an object with the list under a named field,
 * so a view can gain fields without breaking its readers.
 */
import { Schema } from "effect"
import {
  AuditEventPage,
  ChainReport,
  ConfigEntry,
  DatabaseServer,
  FleetRunStatus,
  ProvisioningStep,
  PurgeReport,
  Tenant,
  TenantDatabase
} from "./library.ts"

/** `tenants list`: one page, and the cursor of the next (null on the last). */
export const TenantPageView = Schema.Struct({
  tenants: Schema.Array(Tenant),
  nextCursor: Schema.NullOr(Schema.String)
})

/** `tenants delete`. */
export const DeletedTenantView = Schema.Struct({ deleted: Tenant })

/** `databases list`: the tenant's records (never a connection string: the record holds none). */
export const TenantDatabaseListView = Schema.Struct({
  tenantId: Schema.String,
  databases: Schema.Array(TenantDatabase)
})

/** `databases remove`. */
export const RemovedDatabaseView = Schema.Struct({ removed: TenantDatabase })

/** `databases reveal --json`: the one view that holds a secret, because the operator asked for it. */
export const RevealedView = Schema.Struct({ id: Schema.String, connectionString: Schema.String })

/** `config list`. */
export const ConfigListView = Schema.Struct({ entries: Schema.Array(ConfigEntry) })

/** `config get --json`. */
export const ConfigValueView = Schema.Struct({ key: Schema.String, value: Schema.Json })

/** `config unset`. */
export const ConfigRemovedView = Schema.Struct({ removed: Schema.String })

/** One key of the ring, as `keys status` shows it. */
export const KeyStatus = Schema.Struct({
  keyId: Schema.String,
  primary: Schema.Boolean,
  inRing: Schema.Boolean,
  databases: Schema.Number,
  /** Database servers whose admin connection string the key encrypts. */
  servers: Schema.Number
})
export type KeyStatus = typeof KeyStatus.Type

/** `keys status`. */
export const KeyStatusView = Schema.Struct({ primaryKeyId: Schema.String, keys: Schema.Array(KeyStatus) })

/** `keys rotate`: what the run did. */
export const RotationView = Schema.Struct({
  primaryKeyId: Schema.String,
  total: Schema.Number,
  alreadyCurrent: Schema.Number,
  reencrypted: Schema.Number,
  /** Database servers' admin connection strings re-encrypted. */
  servers: Schema.Number,
  /** Keys dropped from the quick start's key ring file because nothing was encrypted under them any more. */
  droppedKeyIds: Schema.Array(Schema.String)
})

/** `keys add`: the new key; `entry` (id:base64) when no key ring file took it, the only copy of the key. */
export const KeyAddedView = Schema.Struct({
  keyId: Schema.String,
  primary: Schema.Boolean,
  file: Schema.NullOr(Schema.String),
  entry: Schema.NullOr(Schema.String)
})

/** `audit list`: one page of events, and the cursor of the next (null on the last). */
export const AuditEventPageView = AuditEventPage

/** `audit verify`: what the verified chain holds, with the head hash to keep elsewhere. */
export const ChainReportView = ChainReport

/** `audit purge`: the checkpoint event and what it removed. */
export const PurgeView = PurgeReport

/** `servers list`. */
export const ServerListView = Schema.Struct({ servers: Schema.Array(DatabaseServer) })

/** `tenants provision`: the tenant, its database and server, what this run did. */
export const ProvisionedView = Schema.Struct({
  tenant: Tenant,
  database: TenantDatabase,
  server: DatabaseServer,
  /** The template version this run migrated the database to; null when it did not run the migrate step. */
  version: Schema.NullOr(Schema.String),
  /** The steps this run ran (none when the tenant was already provisioned). */
  ran: Schema.Array(ProvisioningStep),
  resumed: Schema.Boolean
})

/** `tenants deprovision`. */
export const DeprovisionedView = Schema.Struct({
  deprovisioned: Schema.Struct({
    tenantId: Schema.String,
    name: Schema.String,
    server: Schema.String,
    database: Schema.String,
    /** false with --keep-database: the database and role are still on the server. */
    dropped: Schema.Boolean
  })
})

/** A database of a fleet run that failed or was not migrated. */
export const FleetFailureView = Schema.Struct({
  databaseId: Schema.String,
  tenantId: Schema.String,
  tenant: Schema.NullOr(Schema.String),
  status: Schema.Literals(["failed", "skipped"]),
  error: Schema.String
})

/** `fleet migrate`: the run as its ledger records it. */
export const FleetRunView = Schema.Struct({
  runId: Schema.String,
  status: FleetRunStatus,
  resumed: Schema.Boolean,
  targetVersion: Schema.String,
  total: Schema.Number,
  succeeded: Schema.Number,
  failed: Schema.Number,
  skipped: Schema.Number,
  applied: Schema.Number,
  startedAt: Schema.Date,
  finishedAt: Schema.NullOr(Schema.Date),
  failures: Schema.Array(FleetFailureView)
})

/** `fleet status`: every tenant database's version, read from its revision table, and the last run. */
export const FleetStatusView = Schema.Struct({
  targetVersion: Schema.String,
  databases: Schema.Array(Schema.Struct({
    databaseId: Schema.String,
    tenantId: Schema.String,
    tenant: Schema.String,
    status: Schema.String,
    version: Schema.NullOr(Schema.String),
    pending: Schema.NullOr(Schema.Number),
    error: Schema.NullOr(Schema.String)
  })),
  versions: Schema.Array(Schema.Struct({ version: Schema.String, databases: Schema.Number })),
  lastRun: Schema.NullOr(FleetRunView)
})
