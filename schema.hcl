# The desired state of the control plane. The schema engine (and the official
# atlas CLI) plans every change from this file; the function and triggers that
# keep updated_at honest live beside it in routines.hcl (see the README, "The
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
