# The desired state of every TENANT database: an example to replace with your
# own application's tables. It is planned and linted exactly like the control
# plane (schema.hcl at the repository root): the function and trigger that keep
# updated_at honest live beside it in routines.hcl, and migrations/ holds the
# reviewed files that `control-plane tenants provision` and
# `control-plane fleet migrate` apply to each tenant database.
#
# The tables live in `public`, which the tenant's own role owns in its own
# database (PostgreSQL 15: public belongs to pg_database_owner).

schema "public" {
  comment = "standard public schema"
}

enum "member_role" {
  schema = schema.public
  values = ["owner", "admin", "member"]
}

table "projects" {
  schema  = schema.public
  comment = "A tenant's projects (example table: replace with your own)."

  column "id" {
    null    = false
    type    = uuid
    default = sql("gen_random_uuid()")
    comment = "Unique project identifier."
  }

  column "name" {
    null    = false
    type    = varchar(255)
    comment = "Project name, unique within the tenant."
  }

  column "created_at" {
    null    = false
    type    = timestamptz
    default = sql("now()")
    comment = "When the project was created."
  }

  column "updated_at" {
    null    = false
    type    = timestamptz
    default = sql("now()")
    comment = "When the project was last changed; kept by a trigger."
  }

  primary_key {
    columns = [column.id]
  }

  index "projects_name_key" {
    unique  = true
    columns = [column.name]
  }
}

table "members" {
  schema  = schema.public
  comment = "People who work on a project (example table: replace with your own)."

  column "id" {
    null    = false
    type    = uuid
    default = sql("gen_random_uuid()")
    comment = "Unique member identifier."
  }

  column "project_id" {
    null    = false
    type    = uuid
    comment = "The project the member belongs to."
  }

  column "email" {
    null    = false
    type    = varchar(320)
    comment = "The member's e-mail address."
  }

  column "role" {
    null    = false
    type    = enum.member_role
    default = "member"
    comment = "What the member may do in the project."
  }

  column "created_at" {
    null    = false
    type    = timestamptz
    default = sql("now()")
    comment = "When the member was added."
  }

  column "updated_at" {
    null    = false
    type    = timestamptz
    default = sql("now()")
    comment = "When the member was last changed; kept by a trigger."
  }

  primary_key {
    columns = [column.id]
  }

  foreign_key "members_project_id_fkey" {
    columns     = [column.project_id]
    ref_columns = [table.projects.column.id]
    on_update   = NO_ACTION
    on_delete   = CASCADE
  }

  index "members_project_id_email_key" {
    unique  = true
    columns = [column.project_id, column.email]
  }
}
