-- Give up instead of queueing every reader and writer behind a lock this file waits for.
SET lock_timeout = '5s';
-- Create enum type "fleet_run_status"
CREATE TYPE "control_plane"."fleet_run_status" AS ENUM ('running', 'succeeded', 'failed', 'stopped', 'canary_failed');
-- Create enum type "fleet_migration_status"
CREATE TYPE "control_plane"."fleet_migration_status" AS ENUM ('pending', 'running', 'succeeded', 'failed', 'skipped');
-- Create enum type "provisioning_step"
CREATE TYPE "control_plane"."provisioning_step" AS ENUM ('create_tenant', 'place', 'register', 'create_role_and_database', 'migrate', 'seed', 'activate');
-- Create enum type "server_status"
CREATE TYPE "control_plane"."server_status" AS ENUM ('open', 'drained');
-- Create "fleet_runs" table
CREATE TABLE "control_plane"."fleet_runs" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "status" "control_plane"."fleet_run_status" NOT NULL, "target_version" character varying(255) NOT NULL, "concurrency" integer NOT NULL, "canary" integer NOT NULL, "max_failures" integer NULL, "started_at" timestamptz NOT NULL DEFAULT now(), "finished_at" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "idx_fleet_runs_started_at" to table: "fleet_runs"
CREATE INDEX "idx_fleet_runs_started_at" ON "control_plane"."fleet_runs" ("started_at");
-- Set comment to table: "fleet_runs"
COMMENT ON TABLE "control_plane"."fleet_runs" IS 'Runs of `fleet migrate`: one row per run; the ledger (fleet_migrations) holds its databases.';
-- Set comment to column: "id" on table: "fleet_runs"
COMMENT ON COLUMN "control_plane"."fleet_runs"."id" IS 'Unique run identifier.';
-- Set comment to column: "status" on table: "fleet_runs"
COMMENT ON COLUMN "control_plane"."fleet_runs"."status" IS 'running until every database of the run is settled (a run killed while running is resumed by the next one).';
-- Set comment to column: "target_version" on table: "fleet_runs"
COMMENT ON COLUMN "control_plane"."fleet_runs"."target_version" IS 'The newest version of tenant/migrations when the run started.';
-- Set comment to column: "concurrency" on table: "fleet_runs"
COMMENT ON COLUMN "control_plane"."fleet_runs"."concurrency" IS 'Databases migrated at once (of the latest invocation).';
-- Set comment to column: "canary" on table: "fleet_runs"
COMMENT ON COLUMN "control_plane"."fleet_runs"."canary" IS 'Databases migrated first; the rest only if they all succeeded.';
-- Set comment to column: "max_failures" on table: "fleet_runs"
COMMENT ON COLUMN "control_plane"."fleet_runs"."max_failures" IS 'Failures after which no new database is taken; null: no limit.';
-- Set comment to column: "started_at" on table: "fleet_runs"
COMMENT ON COLUMN "control_plane"."fleet_runs"."started_at" IS 'When the run started.';
-- Set comment to column: "finished_at" on table: "fleet_runs"
COMMENT ON COLUMN "control_plane"."fleet_runs"."finished_at" IS 'When the run ended; null while running.';
-- Create "fleet_migrations" table
CREATE TABLE "control_plane"."fleet_migrations" ("run_id" uuid NOT NULL, "database_id" uuid NOT NULL, "tenant_id" uuid NOT NULL, "position" integer NOT NULL, "canary" boolean NOT NULL, "status" "control_plane"."fleet_migration_status" NOT NULL, "version_before" character varying(255) NULL, "version_after" character varying(255) NULL, "applied" integer NOT NULL DEFAULT 0, "attempts" integer NOT NULL DEFAULT 0, "started_at" timestamptz NULL, "finished_at" timestamptz NULL, "error" text NULL, PRIMARY KEY ("run_id", "database_id"), CONSTRAINT "fleet_migrations_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "control_plane"."fleet_runs" ("id") ON UPDATE NO ACTION ON DELETE CASCADE);
-- Create index "idx_fleet_migrations_database_id" to table: "fleet_migrations"
CREATE INDEX "idx_fleet_migrations_database_id" ON "control_plane"."fleet_migrations" ("database_id");
-- Set comment to table: "fleet_migrations"
COMMENT ON TABLE "control_plane"."fleet_migrations" IS 'The fleet migration ledger: one row per database per run, with the versions before and after as each database''s revision table reported them.';
-- Set comment to column: "run_id" on table: "fleet_migrations"
COMMENT ON COLUMN "control_plane"."fleet_migrations"."run_id" IS 'The run.';
-- Set comment to column: "database_id" on table: "fleet_migrations"
COMMENT ON COLUMN "control_plane"."fleet_migrations"."database_id" IS 'The tenant_databases record (kept after the database is deprovisioned, as history).';
-- Set comment to column: "tenant_id" on table: "fleet_migrations"
COMMENT ON COLUMN "control_plane"."fleet_migrations"."tenant_id" IS 'The tenant owning the database (kept as history).';
-- Set comment to column: "position" on table: "fleet_migrations"
COMMENT ON COLUMN "control_plane"."fleet_migrations"."position" IS 'Place in the run''s queue, from 0; canaries come first.';
-- Set comment to column: "canary" on table: "fleet_migrations"
COMMENT ON COLUMN "control_plane"."fleet_migrations"."canary" IS 'Whether the database is one of the run''s canaries.';
-- Set comment to column: "status" on table: "fleet_migrations"
COMMENT ON COLUMN "control_plane"."fleet_migrations"."status" IS 'pending, running, then succeeded, failed or skipped.';
-- Set comment to column: "version_before" on table: "fleet_migrations"
COMMENT ON COLUMN "control_plane"."fleet_migrations"."version_before" IS 'The database''s version when the run first took it (empty string: none applied); null until then.';
-- Set comment to column: "version_after" on table: "fleet_migrations"
COMMENT ON COLUMN "control_plane"."fleet_migrations"."version_after" IS 'The database''s version when the run settled it; null until then.';
-- Set comment to column: "applied" on table: "fleet_migrations"
COMMENT ON COLUMN "control_plane"."fleet_migrations"."applied" IS 'Migration files the run applied to the database.';
-- Set comment to column: "attempts" on table: "fleet_migrations"
COMMENT ON COLUMN "control_plane"."fleet_migrations"."attempts" IS 'Times the database was taken (more than one after a run was resumed).';
-- Set comment to column: "started_at" on table: "fleet_migrations"
COMMENT ON COLUMN "control_plane"."fleet_migrations"."started_at" IS 'When the run first took the database.';
-- Set comment to column: "finished_at" on table: "fleet_migrations"
COMMENT ON COLUMN "control_plane"."fleet_migrations"."finished_at" IS 'When the run settled the database.';
-- Set comment to column: "error" on table: "fleet_migrations"
COMMENT ON COLUMN "control_plane"."fleet_migrations"."error" IS 'Why the database failed or was skipped, in one line.';
-- Create "database_servers" table
CREATE TABLE "control_plane"."database_servers" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(63) NOT NULL, "host" character varying(255) NOT NULL, "port" integer NOT NULL DEFAULT 5432, "admin_connection_string_encrypted" text NOT NULL, "max_databases" integer NOT NULL, "status" "control_plane"."server_status" NOT NULL DEFAULT 'open', "created_at" timestamptz NOT NULL DEFAULT now(), "updated_at" timestamptz NOT NULL DEFAULT now(), PRIMARY KEY ("id"), CONSTRAINT "database_servers_max_databases_check" CHECK (max_databases > 0));
-- Create index "database_servers_name_key" to table: "database_servers"
CREATE UNIQUE INDEX "database_servers_name_key" ON "control_plane"."database_servers" ("name");
-- Set comment to table: "database_servers"
COMMENT ON TABLE "control_plane"."database_servers" IS 'PostgreSQL servers that tenant databases may be placed on.';
-- Set comment to column: "id" on table: "database_servers"
COMMENT ON COLUMN "control_plane"."database_servers"."id" IS 'Unique server identifier (made by the application: the admin connection string is bound to it).';
-- Set comment to column: "name" on table: "database_servers"
COMMENT ON COLUMN "control_plane"."database_servers"."name" IS 'Unique server name, e.g. pg-eu-1.';
-- Set comment to column: "host" on table: "database_servers"
COMMENT ON COLUMN "control_plane"."database_servers"."host" IS 'Host tenant databases on this server are reached at.';
-- Set comment to column: "port" on table: "database_servers"
COMMENT ON COLUMN "control_plane"."database_servers"."port" IS 'Port tenant databases on this server are reached at.';
-- Set comment to column: "admin_connection_string_encrypted" on table: "database_servers"
COMMENT ON COLUMN "control_plane"."database_servers"."admin_connection_string_encrypted" IS 'Connection string of a role that may create roles and databases, AES-256-GCM encrypted and bound to this row: v1:<key id>:<base64 nonce|ciphertext|tag>.';
-- Set comment to column: "max_databases" on table: "database_servers"
COMMENT ON COLUMN "control_plane"."database_servers"."max_databases" IS 'The most tenant databases placed on this server.';
-- Set comment to column: "status" on table: "database_servers"
COMMENT ON COLUMN "control_plane"."database_servers"."status" IS 'open: new tenants may be placed here; drained: none are.';
-- Set comment to column: "created_at" on table: "database_servers"
COMMENT ON COLUMN "control_plane"."database_servers"."created_at" IS 'When the server was registered.';
-- Set comment to column: "updated_at" on table: "database_servers"
COMMENT ON COLUMN "control_plane"."database_servers"."updated_at" IS 'When the record was last changed; kept by a trigger.';
-- Create "tenant_provisioning" table
CREATE TABLE "control_plane"."tenant_provisioning" ("tenant_id" uuid NOT NULL, "server_id" uuid NOT NULL, "database_id" uuid NULL, "database_name" character varying(63) NOT NULL, "role_name" character varying(63) NOT NULL, "step" "control_plane"."provisioning_step" NOT NULL, "failed_step" "control_plane"."provisioning_step" NULL, "error" text NULL, "attempts" integer NOT NULL DEFAULT 1, "created_at" timestamptz NOT NULL DEFAULT now(), "updated_at" timestamptz NOT NULL DEFAULT now(), "completed_at" timestamptz NULL, "deprovision_started_at" timestamptz NULL, PRIMARY KEY ("tenant_id"), CONSTRAINT "tenant_provisioning_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "control_plane"."database_servers" ("id") ON UPDATE NO ACTION ON DELETE RESTRICT, CONSTRAINT "tenant_provisioning_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "control_plane"."tenants" ("tenant_id") ON UPDATE NO ACTION ON DELETE RESTRICT);
-- Create index "tenant_provisioning_database_id_key" to table: "tenant_provisioning"
CREATE UNIQUE INDEX "tenant_provisioning_database_id_key" ON "control_plane"."tenant_provisioning" ("database_id");
-- Create index "tenant_provisioning_server_id_database_name_key" to table: "tenant_provisioning"
CREATE UNIQUE INDEX "tenant_provisioning_server_id_database_name_key" ON "control_plane"."tenant_provisioning" ("server_id", "database_name");
-- Set comment to table: "tenant_provisioning"
COMMENT ON TABLE "control_plane"."tenant_provisioning" IS 'How each provisioned tenant was placed and how far its provisioning got: one row per tenant, written with the tenant itself.';
-- Set comment to column: "tenant_id" on table: "tenant_provisioning"
COMMENT ON COLUMN "control_plane"."tenant_provisioning"."tenant_id" IS 'The provisioned tenant.';
-- Set comment to column: "server_id" on table: "tenant_provisioning"
COMMENT ON COLUMN "control_plane"."tenant_provisioning"."server_id" IS 'The server the tenant''s database is placed on.';
-- Set comment to column: "database_id" on table: "tenant_provisioning"
COMMENT ON COLUMN "control_plane"."tenant_provisioning"."database_id" IS 'The tenant_databases record, once registered.';
-- Set comment to column: "database_name" on table: "tenant_provisioning"
COMMENT ON COLUMN "control_plane"."tenant_provisioning"."database_name" IS 'Name of the database on its server, derived from the tenant id.';
-- Set comment to column: "role_name" on table: "tenant_provisioning"
COMMENT ON COLUMN "control_plane"."tenant_provisioning"."role_name" IS 'Name of the role that owns the database, derived from the tenant id.';
-- Set comment to column: "step" on table: "tenant_provisioning"
COMMENT ON COLUMN "control_plane"."tenant_provisioning"."step" IS 'The last step that completed.';
-- Set comment to column: "failed_step" on table: "tenant_provisioning"
COMMENT ON COLUMN "control_plane"."tenant_provisioning"."failed_step" IS 'The step the last attempt failed at; null once a later attempt gets past it.';
-- Set comment to column: "error" on table: "tenant_provisioning"
COMMENT ON COLUMN "control_plane"."tenant_provisioning"."error" IS 'Why failed_step failed, in one line.';
-- Set comment to column: "attempts" on table: "tenant_provisioning"
COMMENT ON COLUMN "control_plane"."tenant_provisioning"."attempts" IS 'Runs of provisioning for this tenant (the first and every resume).';
-- Set comment to column: "created_at" on table: "tenant_provisioning"
COMMENT ON COLUMN "control_plane"."tenant_provisioning"."created_at" IS 'When provisioning started.';
-- Set comment to column: "updated_at" on table: "tenant_provisioning"
COMMENT ON COLUMN "control_plane"."tenant_provisioning"."updated_at" IS 'When the record was last changed; kept by a trigger.';
-- Set comment to column: "completed_at" on table: "tenant_provisioning"
COMMENT ON COLUMN "control_plane"."tenant_provisioning"."completed_at" IS 'When the tenant became active; null while provisioning is unfinished.';
-- Set comment to column: "deprovision_started_at" on table: "tenant_provisioning"
COMMENT ON COLUMN "control_plane"."tenant_provisioning"."deprovision_started_at" IS 'When deprovisioning began; the tenant cannot be provisioned again until it ends.';
