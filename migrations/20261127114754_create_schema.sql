-- Create the control_plane schema on its own, before anything in it.
-- The pinned community build of Atlas plans enum types only inside a schema
-- that already exists, so the schema comes first (db:apply does the same).
CREATE SCHEMA IF NOT EXISTS "control_plane";
