-- tenants.name becomes the UNIQUE constraint the spec asks for. Until now a
-- unique index enforced it (the 2023 Atlas CLI could not plan `unique`
-- blocks); the constraint takes over that very index, so nothing is rebuilt
-- and no moment goes unchecked. Written by hand: Atlas's diff does not see an
-- index turning into a constraint of the same name.
-- ADD CONSTRAINT takes an ACCESS EXCLUSIVE lock on tenants, briefly: give up
-- rather than queue every reader and writer behind a long transaction.
SET lock_timeout = '5s';
ALTER TABLE "control_plane"."tenants" ADD CONSTRAINT "tenants_name_key" UNIQUE USING INDEX "tenants_name_key";
