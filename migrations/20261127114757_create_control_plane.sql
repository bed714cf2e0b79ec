-- Set comment to schema: "control_plane"
COMMENT ON SCHEMA "control_plane" IS 'Control plane for database-per-tenant multi-tenancy: tenants, their databases and system configuration.';
-- Create enum type "tenant_environment"
CREATE TYPE "control_plane"."tenant_environment" AS ENUM ('development', 'staging', 'production');
-- Create enum type "tenant_status"
CREATE TYPE "control_plane"."tenant_status" AS ENUM ('active', 'inactive', 'suspended', 'pending');
-- Create enum type "database_status"
CREATE TYPE "control_plane"."database_status" AS ENUM ('active', 'inactive', 'migrating', 'error');
-- Create "system_config" table
CREATE TABLE "control_plane"."system_config" ("key" character varying(255) NOT NULL, "value" jsonb NOT NULL, "updated_at" timestamptz NOT NULL DEFAULT now(), PRIMARY KEY ("key"));
-- Set comment to table: "system_config"
COMMENT ON TABLE "control_plane"."system_config" IS 'System-wide configuration as key/value pairs.';
-- Set comment to column: "key" on table: "system_config"
COMMENT ON COLUMN "control_plane"."system_config" ."key" IS 'Configuration key.';
-- Set comment to column: "value" on table: "system_config"
COMMENT ON COLUMN "control_plane"."system_config" ."value" IS 'Configuration value, any JSON.';
-- Set comment to column: "updated_at" on table: "system_config"
COMMENT ON COLUMN "control_plane"."system_config" ."updated_at" IS 'When the entry was last changed; kept by a trigger.';
-- Create "tenants" table
CREATE TABLE "control_plane"."tenants" ("tenant_id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(255) NOT NULL, "environment" "control_plane"."tenant_environment" NOT NULL, "status" "control_plane"."tenant_status" NOT NULL, "created_at" timestamptz NOT NULL DEFAULT now(), "updated_at" timestamptz NOT NULL DEFAULT now(), PRIMARY KEY ("tenant_id"));
-- Create index "idx_tenants_status" to table: "tenants"
CREATE INDEX "idx_tenants_status" ON "control_plane"."tenants" ("status");
-- Create index "tenants_name_key" to table: "tenants"
CREATE UNIQUE INDEX "tenants_name_key" ON "control_plane"."tenants" ("name");
-- Set comment to table: "tenants"
COMMENT ON TABLE "control_plane"."tenants" IS 'Every tenant of the platform.';
-- Set comment to column: "tenant_id" on table: "tenants"
COMMENT ON COLUMN "control_plane"."tenants" ."tenant_id" IS 'Unique tenant identifier.';
-- Set comment to column: "name" on table: "tenants"
COMMENT ON COLUMN "control_plane"."tenants" ."name" IS 'Unique tenant name, e.g. system_admin.';
-- Set comment to column: "environment" on table: "tenants"
COMMENT ON COLUMN "control_plane"."tenants" ."environment" IS 'Deployment environment of the tenant.';
-- Set comment to column: "status" on table: "tenants"
COMMENT ON COLUMN "control_plane"."tenants" ."status" IS 'Lifecycle status of the tenant.';
-- Set comment to column: "created_at" on table: "tenants"
COMMENT ON COLUMN "control_plane"."tenants" ."created_at" IS 'When the tenant was created.';
-- Set comment to column: "updated_at" on table: "tenants"
COMMENT ON COLUMN "control_plane"."tenants" ."updated_at" IS 'When the tenant was last changed; kept by a trigger.';
-- Create "tenant_databases" table
CREATE TABLE "control_plane"."tenant_databases" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "tenant_id" uuid NOT NULL, "connection_string_encrypted" text NOT NULL, "database_name" character varying(255) NOT NULL, "host" character varying(255) NOT NULL, "port" integer NOT NULL DEFAULT 5432, "status" "control_plane"."database_status" NOT NULL, "created_at" timestamptz NOT NULL DEFAULT now(), "updated_at" timestamptz NOT NULL DEFAULT now(), PRIMARY KEY ("id"), CONSTRAINT "tenant_databases_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "control_plane"."tenants" ("tenant_id") ON UPDATE NO ACTION ON DELETE CASCADE);
-- Create index "idx_tenant_databases_status" to table: "tenant_databases"
CREATE INDEX "idx_tenant_databases_status" ON "control_plane"."tenant_databases" ("status");
-- Create index "idx_tenant_databases_tenant_id" to table: "tenant_databases"
CREATE INDEX "idx_tenant_databases_tenant_id" ON "control_plane"."tenant_databases" ("tenant_id");
-- Set comment to table: "tenant_databases"
COMMENT ON TABLE "control_plane"."tenant_databases" IS 'The database that holds each tenant''s data, with its connection string encrypted at rest.';
-- Set comment to column: "id" on table: "tenant_databases"
COMMENT ON COLUMN "control_plane"."tenant_databases" ."id" IS 'Unique database record identifier.';
-- Set comment to column: "tenant_id" on table: "tenant_databases"
COMMENT ON COLUMN "control_plane"."tenant_databases" ."tenant_id" IS 'The tenant that owns this database.';
-- Set comment to column: "connection_string_encrypted" on table: "tenant_databases"
COMMENT ON COLUMN "control_plane"."tenant_databases" ."connection_string_encrypted" IS 'Connection string, AES-256-GCM encrypted and bound to this row: v1:<key id>:<base64 nonce|ciphertext|tag>.';
-- Set comment to column: "database_name" on table: "tenant_databases"
COMMENT ON COLUMN "control_plane"."tenant_databases" ."database_name" IS 'Name of the tenant database.';
-- Set comment to column: "host" on table: "tenant_databases"
COMMENT ON COLUMN "control_plane"."tenant_databases" ."host" IS 'Host of the tenant database server.';
-- Set comment to column: "port" on table: "tenant_databases"
COMMENT ON COLUMN "control_plane"."tenant_databases" ."port" IS 'Port of the tenant database server.';
-- Set comment to column: "status" on table: "tenant_databases"
COMMENT ON COLUMN "control_plane"."tenant_databases" ."status" IS 'Lifecycle status of the tenant database.';
-- Set comment to column: "created_at" on table: "tenant_databases"
COMMENT ON COLUMN "control_plane"."tenant_databases" ."created_at" IS 'When the database was registered.';
-- Set comment to column: "updated_at" on table: "tenant_databases"
COMMENT ON COLUMN "control_plane"."tenant_databases" ."updated_at" IS 'When the record was last changed; kept by a trigger.';
