-- Create enum type "member_role"
CREATE TYPE "public"."member_role" AS ENUM ('owner', 'admin', 'member');
-- Create "projects" table
CREATE TABLE "public"."projects" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(255) NOT NULL, "created_at" timestamptz NOT NULL DEFAULT now(), "updated_at" timestamptz NOT NULL DEFAULT now(), PRIMARY KEY ("id"));
-- Create index "projects_name_key" to table: "projects"
CREATE UNIQUE INDEX "projects_name_key" ON "public"."projects" ("name");
-- Set comment to table: "projects"
COMMENT ON TABLE "public"."projects" IS 'A tenant''s projects (example table: replace with your own).';
-- Set comment to column: "id" on table: "projects"
COMMENT ON COLUMN "public"."projects"."id" IS 'Unique project identifier.';
-- Set comment to column: "name" on table: "projects"
COMMENT ON COLUMN "public"."projects"."name" IS 'Project name, unique within the tenant.';
-- Set comment to column: "created_at" on table: "projects"
COMMENT ON COLUMN "public"."projects"."created_at" IS 'When the project was created.';
-- Set comment to column: "updated_at" on table: "projects"
COMMENT ON COLUMN "public"."projects"."updated_at" IS 'When the project was last changed; kept by a trigger.';
-- Create "members" table
CREATE TABLE "public"."members" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "project_id" uuid NOT NULL, "email" character varying(320) NOT NULL, "role" "public"."member_role" NOT NULL DEFAULT 'member', "created_at" timestamptz NOT NULL DEFAULT now(), "updated_at" timestamptz NOT NULL DEFAULT now(), PRIMARY KEY ("id"), CONSTRAINT "members_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "public"."projects" ("id") ON UPDATE NO ACTION ON DELETE CASCADE);
-- Create index "members_project_id_email_key" to table: "members"
CREATE UNIQUE INDEX "members_project_id_email_key" ON "public"."members" ("project_id", "email");
-- Set comment to table: "members"
COMMENT ON TABLE "public"."members" IS 'People who work on a project (example table: replace with your own).';
-- Set comment to column: "id" on table: "members"
COMMENT ON COLUMN "public"."members"."id" IS 'Unique member identifier.';
-- Set comment to column: "project_id" on table: "members"
COMMENT ON COLUMN "public"."members"."project_id" IS 'The project the member belongs to.';
-- Set comment to column: "email" on table: "members"
COMMENT ON COLUMN "public"."members"."email" IS 'The member''s e-mail address.';
-- Set comment to column: "role" on table: "members"
COMMENT ON COLUMN "public"."members"."role" IS 'What the member may do in the project.';
-- Set comment to column: "created_at" on table: "members"
COMMENT ON COLUMN "public"."members"."created_at" IS 'When the member was added.';
-- Set comment to column: "updated_at" on table: "members"
COMMENT ON COLUMN "public"."members"."updated_at" IS 'When the member was last changed; kept by a trigger.';
