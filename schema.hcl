# The desired state of the control plane. The schema engine (and the official
# atlas CLI) plans every change from this file; the functions and triggers
# (updated_at kept honest, the audit trail's recording, chaining and
# append-only guard) live beside it in routines.hcl (see the README, "The
# schema engine").

schema "control_plane" {
  comment = "Control plane for database-per-tenant multi-tenancy: tenants, their databases and system configuration."
}

enum "tenant_environment" {
  schema = schema.control_plane
  values = ["development", "staging", "production"]
}

enum "tenant_status" {
  schema = schema.control_plane
  values = ["active", "inactive", "suspended", "pending"]
}

enum "database_status" {
  schema = schema.control_plane
  values = ["active", "inactive", "migrating", "error"]
}

table "tenants" {
  schema  = schema.control_plane
  comment = "Every tenant of the platform."

  column "tenant_id" {
    null    = false
    type    = uuid
    default = sql("gen_random_uuid()")
    comment = "Unique tenant identifier."
  }

  column "name" {
    null    = false
    type    = varchar(255)
    comment = "Unique tenant name, e.g. system_admin."
  }

  column "environment" {
    null    = false
    type    = enum.tenant_environment
    comment = "Deployment environment of the tenant."
  }

  column "status" {
    null    = false
    type    = enum.tenant_status
    comment = "Lifecycle status of the tenant."
  }

  column "created_at" {
    null    = false
    type    = timestamptz
    default = sql("now()")
    comment = "When the tenant was created."
  }

  column "updated_at" {
    null    = false
    type    = timestamptz
    default = sql("now()")
    comment = "When the tenant was last changed; kept by a trigger."
  }

  primary_key {
    columns = [column.tenant_id]
  }

  # A duplicate name is refused with SQLSTATE 23505 naming "tenants_name_key",
  # which the library maps to TenantNameTaken.
  unique "tenants_name_key" {
    columns = [column.name]
  }

  index "idx_tenants_status" {
    columns = [column.status]
  }
}

table "tenant_databases" {
  schema  = schema.control_plane
  comment = "The database that holds each tenant's data, with its connection string encrypted at rest."

  column "id" {
    null    = false
    type    = uuid
    default = sql("gen_random_uuid()")
    comment = "Unique database record identifier."
  }

  column "tenant_id" {
    null    = false
    type    = uuid
    comment = "The tenant that owns this database."
  }

  column "connection_string_encrypted" {
    null    = false
    type    = text
    comment = "Connection string, AES-256-GCM encrypted and bound to this row: v1:<key id>:<base64 nonce|ciphertext|tag>."
  }

  column "database_name" {
    null    = false
    type    = varchar(255)
    comment = "Name of the tenant database."
  }

  column "host" {
    null    = false
    type    = varchar(255)
    comment = "Host of the tenant database server."
  }

  column "port" {
    null    = false
    type    = integer
    default = 5432
    comment = "Port of the tenant database server."
  }

  column "status" {
    null    = false
    type    = enum.database_status
    comment = "Lifecycle status of the tenant database."
  }

  column "created_at" {
    null    = false
    type    = timestamptz
    default = sql("now()")
    comment = "When the database was registered."
  }

  column "updated_at" {
    null    = false
    type    = timestamptz
    default = sql("now()")
    comment = "When the record was last changed; kept by a trigger."
  }

  primary_key {
    columns = [column.id]
  }

  foreign_key "tenant_databases_tenant_id_fkey" {
    columns     = [column.tenant_id]
    ref_columns = [table.tenants.column.tenant_id]
    on_update   = NO_ACTION
    on_delete   = CASCADE
  }

  index "idx_tenant_databases_tenant_id" {
    columns = [column.tenant_id]
  }

  index "idx_tenant_databases_status" {
    columns = [column.status]
  }
}

table "system_config" {
  schema  = schema.control_plane
  comment = "System-wide configuration as key/value pairs."

  column "key" {
    null    = false
    type    = varchar(255)
    comment = "Configuration key."
  }

  column "value" {
    null    = false
    type    = jsonb
    comment = "Configuration value, any JSON."
  }

  column "updated_at" {
    null    = false
    type    = timestamptz
    default = sql("now()")
    comment = "When the entry was last changed; kept by a trigger."
  }

  primary_key {
    columns = [column.key]
  }
}

table "audit_events" {
  schema  = schema.control_plane
  comment = "Append-only, hash-chained record of every change to the control plane and of every reveal of a connection string; written by the triggers of routines.hcl and refused to UPDATE, DELETE and TRUNCATE (only a purge removes old events)."

  column "id" {
    null    = false
    type    = bigint
    comment = "The event's position in the hash chain: 1, 2, 3, ... without gaps, assigned under the append lock."
  }

  column "occurred_at" {
    null    = false
    type    = timestamptz
    default = sql("clock_timestamp()")
    comment = "When the event was appended (in chain order, so it never goes backwards)."
  }

  column "actor" {
    null    = false
    type    = text
    comment = "Who acted: the transaction's control_plane.actor setting (the library's Actor), else the database role."
  }

  column "db_role" {
    null    = false
    type    = text
    comment = "The database role of the session that made the change (session_user)."
  }

  column "action" {
    null    = false
    type    = text
    comment = "What happened: create, update, delete, truncate, reveal, rotate or purge."
  }

  column "entity_type" {
    null    = false
    type    = text
    comment = "What it happened to: tenant, tenant_database, system_config, key_ring or audit_trail."
  }

  column "entity_id" {
    null    = true
    type    = text
    comment = "The id of what it happened to: a tenant or database id, a configuration key, a key id."
  }

  column "tenant_id" {
    null    = true
    type    = uuid
    comment = "The tenant the event concerns, if any (no foreign key: events outlive their tenant)."
  }

  column "changes" {
    null    = false
    type    = jsonb
    default = "{}"
    comment = "The changed fields as {field: {old, new}}; a connection string only as {changed: true}, never its value or ciphertext."
  }

  column "reason" {
    null    = true
    type    = text
    comment = "Why, when the actor said so."
  }

  column "prev_hash" {
    null    = false
    type    = bytea
    comment = "The hash of the event before this one (32 zero bytes for the first event ever)."
  }

  column "hash" {
    null    = false
    type    = bytea
    comment = "sha256(prev_hash || canonical content of this event); see the README, Audit trail."
  }

  primary_key {
    columns = [column.id]
  }

  index "idx_audit_events_tenant_id" {
    columns = [column.tenant_id, column.id]
  }

  # Events are appended in time order, so a BRIN index answers --since and
  # purge for almost nothing per append.
  index "idx_audit_events_occurred_at" {
    type    = BRIN
    columns = [column.occurred_at]
  }

  # The append-only guard looks up the latest purge for every row a purge
  # deletes; purges are rare, so this index costs other appends nothing.
  index "idx_audit_events_purges" {
    columns = [column.id]
    where   = "action = 'purge'"
  }
}

# ---------------------------------------------------------------------------
# Operating the tenant databases: the servers they are placed on, how each
# provisioned tenant got there, and the ledger of fleet migrations.

enum "server_status" {
  schema = schema.control_plane
  values = ["open", "drained"]
}

enum "provisioning_step" {
  schema = schema.control_plane
  values = ["create_tenant", "place", "register", "create_role_and_database", "migrate", "seed", "activate"]
}

enum "fleet_run_status" {
  schema = schema.control_plane
  values = ["running", "succeeded", "failed", "stopped", "canary_failed"]
}

enum "fleet_migration_status" {
  schema = schema.control_plane
  values = ["pending", "running", "succeeded", "failed", "skipped"]
}

table "database_servers" {
  schema  = schema.control_plane
  comment = "PostgreSQL servers that tenant databases may be placed on."

  column "id" {
    null    = false
    type    = uuid
    default = sql("gen_random_uuid()")
    comment = "Unique server identifier (made by the application: the admin connection string is bound to it)."
  }

  column "name" {
    null    = false
    type    = varchar(63)
    comment = "Unique server name, e.g. pg-eu-1."
  }

  column "host" {
    null    = false
    type    = varchar(255)
    comment = "Host tenant databases on this server are reached at."
  }

  column "port" {
    null    = false
    type    = integer
    default = 5432
    comment = "Port tenant databases on this server are reached at."
  }

  column "admin_connection_string_encrypted" {
    null    = false
    type    = text
    comment = "Connection string of a role that may create roles and databases, AES-256-GCM encrypted and bound to this row: v1:<key id>:<base64 nonce|ciphertext|tag>."
  }

  column "max_databases" {
    null    = false
    type    = integer
    comment = "The most tenant databases placed on this server."
  }

  column "status" {
    null    = false
    type    = enum.server_status
    default = "open"
    comment = "open: new tenants may be placed here; drained: none are."
  }

  column "created_at" {
    null    = false
    type    = timestamptz
    default = sql("now()")
    comment = "When the server was registered."
  }

  column "updated_at" {
    null    = false
    type    = timestamptz
    default = sql("now()")
    comment = "When the record was last changed; kept by a trigger."
  }

  primary_key {
    columns = [column.id]
  }

  index "database_servers_name_key" {
    unique  = true
    columns = [column.name]
  }

  check "database_servers_max_databases_check" {
    expr = "(max_databases > 0)"
  }
}

table "tenant_provisioning" {
  schema  = schema.control_plane
  comment = "How each provisioned tenant was placed and how far its provisioning got: one row per tenant, written with the tenant itself."

  column "tenant_id" {
    null    = false
    type    = uuid
    comment = "The provisioned tenant."
  }

  column "server_id" {
    null    = false
    type    = uuid
    comment = "The server the tenant's database is placed on."
  }

  column "database_id" {
    null    = true
    type    = uuid
    comment = "The tenant_databases record, once registered."
  }

  column "database_name" {
    null    = false
    type    = varchar(63)
    comment = "Name of the database on its server, derived from the tenant id."
  }

  column "role_name" {
    null    = false
    type    = varchar(63)
    comment = "Name of the role that owns the database, derived from the tenant id."
  }

  column "step" {
    null    = false
    type    = enum.provisioning_step
    comment = "The last step that completed."
  }

  column "failed_step" {
    null    = true
    type    = enum.provisioning_step
    comment = "The step the last attempt failed at; null once a later attempt gets past it."
  }

  column "error" {
    null    = true
    type    = text
    comment = "Why failed_step failed, in one line."
  }

  column "attempts" {
    null    = false
    type    = integer
    default = 1
    comment = "Runs of provisioning for this tenant (the first and every resume)."
  }

  column "created_at" {
    null    = false
    type    = timestamptz
    default = sql("now()")
    comment = "When provisioning started."
  }

  column "updated_at" {
    null    = false
    type    = timestamptz
    default = sql("now()")
    comment = "When the record was last changed; kept by a trigger."
  }

  column "completed_at" {
    null    = true
    type    = timestamptz
    comment = "When the tenant became active; null while provisioning is unfinished."
  }

  column "deprovision_started_at" {
    null    = true
    type    = timestamptz
    comment = "When deprovisioning began; the tenant cannot be provisioned again until it ends."
  }

  primary_key {
    columns = [column.tenant_id]
  }

  foreign_key "tenant_provisioning_tenant_id_fkey" {
    columns     = [column.tenant_id]
    ref_columns = [table.tenants.column.tenant_id]
    on_update   = NO_ACTION
    on_delete   = RESTRICT
  }

  foreign_key "tenant_provisioning_server_id_fkey" {
    columns     = [column.server_id]
    ref_columns = [table.database_servers.column.id]
    on_update   = NO_ACTION
    on_delete   = RESTRICT
  }

  foreign_key "tenant_provisioning_database_id_fkey" {
    columns     = [column.database_id]
    ref_columns = [table.tenant_databases.column.id]
    on_update   = NO_ACTION
    on_delete   = RESTRICT
  }

  index "tenant_provisioning_server_id_database_name_key" {
    unique  = true
    columns = [column.server_id, column.database_name]
  }

  index "tenant_provisioning_database_id_key" {
    unique  = true
    columns = [column.database_id]
  }
}

table "fleet_runs" {
  schema  = schema.control_plane
  comment = "Runs of `fleet migrate`: one row per run; the ledger (fleet_migrations) holds its databases."

  column "id" {
    null    = false
    type    = uuid
    default = sql("gen_random_uuid()")
    comment = "Unique run identifier."
  }

  column "status" {
    null    = false
    type    = enum.fleet_run_status
    comment = "running until every database of the run is settled (a run killed while running is resumed by the next one)."
  }

  column "target_version" {
    null    = false
    type    = varchar(255)
    comment = "The newest version of tenant/migrations when the run started."
  }

  column "concurrency" {
    null    = false
    type    = integer
    comment = "Databases migrated at once (of the latest invocation)."
  }

  column "canary" {
    null    = false
    type    = integer
    comment = "Databases migrated first; the rest only if they all succeeded."
  }

  column "max_failures" {
    null    = true
    type    = integer
    comment = "Failures after which no new database is taken; null: no limit."
  }

  column "started_at" {
    null    = false
    type    = timestamptz
    default = sql("now()")
    comment = "When the run started."
  }

  column "finished_at" {
    null    = true
    type    = timestamptz
    comment = "When the run ended; null while running."
  }

  primary_key {
    columns = [column.id]
  }

  index "idx_fleet_runs_started_at" {
    columns = [column.started_at]
  }
}

table "fleet_migrations" {
  schema  = schema.control_plane
  comment = "The fleet migration ledger: one row per database per run, with the versions before and after as each database's revision table reported them."

  column "run_id" {
    null    = false
    type    = uuid
    comment = "The run."
  }

  column "database_id" {
    null    = false
    type    = uuid
    comment = "The tenant_databases record (kept after the database is deprovisioned, as history)."
  }

  column "tenant_id" {
    null    = false
    type    = uuid
    comment = "The tenant owning the database (kept as history)."
  }

  column "position" {
    null    = false
    type    = integer
    comment = "Place in the run's queue, from 0; canaries come first."
  }

  column "canary" {
    null    = false
    type    = boolean
    comment = "Whether the database is one of the run's canaries."
  }

  column "status" {
    null    = false
    type    = enum.fleet_migration_status
    comment = "pending, running, then succeeded, failed or skipped."
  }

  column "version_before" {
    null    = true
    type    = varchar(255)
    comment = "The database's version when the run first took it (empty string: none applied); null until then."
  }

  column "version_after" {
    null    = true
    type    = varchar(255)
    comment = "The database's version when the run settled it; null until then."
  }

  column "applied" {
    null    = false
    type    = integer
    default = 0
    comment = "Migration files the run applied to the database."
  }

  column "attempts" {
    null    = false
    type    = integer
    default = 0
    comment = "Times the database was taken (more than one after a run was resumed)."
  }

  column "started_at" {
    null    = true
    type    = timestamptz
    comment = "When the run first took the database."
  }

  column "finished_at" {
    null    = true
    type    = timestamptz
    comment = "When the run settled the database."
  }

  column "error" {
    null    = true
    type    = text
    comment = "Why the database failed or was skipped, in one line."
  }

  primary_key {
    columns = [column.run_id, column.database_id]
  }

  foreign_key "fleet_migrations_run_id_fkey" {
    columns     = [column.run_id]
    ref_columns = [table.fleet_runs.column.id]
    on_update   = NO_ACTION
    on_delete   = CASCADE
  }

  index "idx_fleet_migrations_database_id" {
    columns = [column.database_id]
  }
}
