-- Give up instead of queueing every reader and writer behind a lock this file waits for.
SET lock_timeout = '5s';
-- Create "audit_events" table
CREATE TABLE "control_plane"."audit_events" ("id" bigint NOT NULL, "occurred_at" timestamptz NOT NULL DEFAULT clock_timestamp(), "actor" text NOT NULL, "db_role" text NOT NULL, "action" text NOT NULL, "entity_type" text NOT NULL, "entity_id" text NULL, "tenant_id" uuid NULL, "changes" jsonb NOT NULL DEFAULT '{}', "reason" text NULL, "prev_hash" bytea NOT NULL, "hash" bytea NOT NULL, PRIMARY KEY ("id"));
-- Create index "idx_audit_events_occurred_at" to table: "audit_events"
CREATE INDEX "idx_audit_events_occurred_at" ON "control_plane"."audit_events" USING brin ("occurred_at");
-- Create index "idx_audit_events_purges" to table: "audit_events"
CREATE INDEX "idx_audit_events_purges" ON "control_plane"."audit_events" ("id") WHERE (action = 'purge'::text);
-- Create index "idx_audit_events_tenant_id" to table: "audit_events"
CREATE INDEX "idx_audit_events_tenant_id" ON "control_plane"."audit_events" ("tenant_id", "id");
-- Set comment to table: "audit_events"
COMMENT ON TABLE "control_plane"."audit_events" IS 'Append-only, hash-chained record of every change to the control plane and of every reveal of a connection string; written by the triggers of routines.hcl and refused to UPDATE, DELETE and TRUNCATE (only a purge removes old events).';
-- Set comment to column: "id" on table: "audit_events"
COMMENT ON COLUMN "control_plane"."audit_events" ."id" IS 'The event''s position in the hash chain: 1, 2, 3, ... without gaps, assigned under the append lock.';
-- Set comment to column: "occurred_at" on table: "audit_events"
COMMENT ON COLUMN "control_plane"."audit_events" ."occurred_at" IS 'When the event was appended (in chain order, so it never goes backwards).';
-- Set comment to column: "actor" on table: "audit_events"
COMMENT ON COLUMN "control_plane"."audit_events" ."actor" IS 'Who acted: the transaction''s control_plane.actor setting (the library''s Actor), else the database role.';
-- Set comment to column: "db_role" on table: "audit_events"
COMMENT ON COLUMN "control_plane"."audit_events" ."db_role" IS 'The database role of the session that made the change (session_user).';
-- Set comment to column: "action" on table: "audit_events"
COMMENT ON COLUMN "control_plane"."audit_events" ."action" IS 'What happened: create, update, delete, truncate, reveal, rotate or purge.';
-- Set comment to column: "entity_type" on table: "audit_events"
COMMENT ON COLUMN "control_plane"."audit_events" ."entity_type" IS 'What it happened to: tenant, tenant_database, system_config, key_ring or audit_trail.';
-- Set comment to column: "entity_id" on table: "audit_events"
COMMENT ON COLUMN "control_plane"."audit_events" ."entity_id" IS 'The id of what it happened to: a tenant or database id, a configuration key, a key id.';
-- Set comment to column: "tenant_id" on table: "audit_events"
COMMENT ON COLUMN "control_plane"."audit_events" ."tenant_id" IS 'The tenant the event concerns, if any (no foreign key: events outlive their tenant).';
-- Set comment to column: "changes" on table: "audit_events"
COMMENT ON COLUMN "control_plane"."audit_events" ."changes" IS 'The changed fields as {field: {old, new}}; a connection string only as {changed: true}, never its value or ciphertext.';
-- Set comment to column: "reason" on table: "audit_events"
COMMENT ON COLUMN "control_plane"."audit_events" ."reason" IS 'Why, when the actor said so.';
-- Set comment to column: "prev_hash" on table: "audit_events"
COMMENT ON COLUMN "control_plane"."audit_events" ."prev_hash" IS 'The hash of the event before this one (32 zero bytes for the first event ever).';
-- Set comment to column: "hash" on table: "audit_events"
COMMENT ON COLUMN "control_plane"."audit_events" ."hash" IS 'sha256(prev_hash || canonical content of this event); see the README, Audit trail.';
