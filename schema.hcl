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
