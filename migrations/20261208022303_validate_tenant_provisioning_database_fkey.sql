-- Give up instead of queueing every reader and writer behind a lock this file waits for.
SET lock_timeout = '5s';
-- A record whose database record was removed before the constraint existed points nowhere:
-- it goes back to before the register step, so that running `tenants provision` for the
-- tenant again registers its database anew (a new password, set on the role too) and finishes.
UPDATE "control_plane"."tenant_provisioning" p
SET "database_id" = NULL, "step" = 'place', "completed_at" = NULL, "updated_at" = now()
WHERE p."database_id" IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM "control_plane"."tenant_databases" d WHERE d."id" = p."database_id");
-- Checks the existing rows under SHARE UPDATE EXCLUSIVE: reads and writes go on meanwhile.
ALTER TABLE "control_plane"."tenant_provisioning" VALIDATE CONSTRAINT "tenant_provisioning_database_id_fkey";
