-- Give up instead of queueing every reader and writer behind a lock this file waits for.
SET lock_timeout = '5s';
-- A provisioning record's database must exist while the record does: `databases remove` of a
-- provisioned tenant's database is refused (tenants deprovision removes both). NOT VALID takes
-- no table scan now; the next file validates the rows already there.
ALTER TABLE "control_plane"."tenant_provisioning" ADD CONSTRAINT "tenant_provisioning_database_id_fkey" FOREIGN KEY ("database_id") REFERENCES "control_plane"."tenant_databases" ("id") ON UPDATE NO ACTION ON DELETE RESTRICT NOT VALID;
