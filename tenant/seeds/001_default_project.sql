-- Every tenant starts with one project. Idempotent: a second run changes nothing.
INSERT INTO "public"."projects" ("name")
VALUES ('Default')
ON CONFLICT ("name") DO NOTHING;
