-- The platform's own tenant. Idempotent: a second run changes nothing.
INSERT INTO "control_plane"."tenants" ("name", "environment", "status")
VALUES ('system_admin', 'production', 'active')
ON CONFLICT ("name") DO NOTHING;
