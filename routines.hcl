# The function and triggers that keep updated_at honest on every table.
#
# Atlas Pro manages these blocks itself (add this file to an env's `src`).
# The community build cannot evaluate them (PLpgSQL, trigger and ROW are not
# variables it knows), so they live beside schema.hcl rather than inside it,
# and the project renders them to SQL for both paths: `npm run db:apply` runs
# that SQL, and `npm run db:routines` writes the same SQL as a migration.
# Keep exactly one definition here; nothing else spells these out.

function "update_updated_at_column" {
  schema = schema.control_plane
  lang   = PLpgSQL
  return = trigger
  as     = <<-SQL
  BEGIN
    NEW.updated_at = now();
    RETURN NEW;
  END;
  SQL
}

trigger "update_tenants_updated_at" {
  on = table.tenants
  before {
    update = true
  }
  for = ROW
  execute {
    function = function.update_updated_at_column
  }
}

trigger "update_tenant_databases_updated_at" {
  on = table.tenant_databases
  before {
    update = true
  }
  for = ROW
  execute {
    function = function.update_updated_at_column
  }
}

trigger "update_system_config_updated_at" {
  on = table.system_config
  before {
    update = true
  }
  for = ROW
  execute {
    function = function.update_updated_at_column
  }
}

trigger "update_database_servers_updated_at" {
  on = table.database_servers
  before {
    update = true
  }
  for = ROW
  execute {
    function = function.update_updated_at_column
  }
}

trigger "update_tenant_provisioning_updated_at" {
  on = table.tenant_provisioning
  before {
    update = true
  }
  for = ROW
  execute {
    function = function.update_updated_at_column
  }
}
