# The function and triggers of every tenant database (see ../routines.hcl for
# why they live beside schema.hcl rather than inside it). Both paths render
# them from here: the declarative path runs the SQL, and the routines
# migration in migrations/ is the same SQL, generated from this file.

function "update_updated_at_column" {
  schema = schema.public
  lang   = PLpgSQL
  return = trigger
  as     = <<-SQL
  BEGIN
    NEW.updated_at = now();
    RETURN NEW;
  END;
  SQL
}

trigger "update_projects_updated_at" {
  on = table.projects
  before {
    update = true
  }
  for = ROW
  execute {
    function = function.update_updated_at_column
  }
}

trigger "update_members_updated_at" {
  on = table.members
  before {
    update = true
  }
  for = ROW
  execute {
    function = function.update_updated_at_column
  }
}
