# The functions and triggers of the control plane: updated_at kept honest on
# every table, the lifecycle of tenants and databases, and change notifications.
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

# ---------------------------------------------------------------------------
# The lifecycle of tenants and tenant databases, enforced by the database.
#
# lifecycle_moves() is the one statement of which status moves are allowed;
# the triggers below refuse every other move, from any client (psql too),
# with a stable SQLSTATE and message:
#
#   LC001  illegal status transition; DETAIL is JSON
#          {"entity","id","name","from","to","allowed"} ("from" is null for a new row)
#   LC002  a tenant cannot become active without an active database; DETAIL {"id","name"}
#   LC003  system_admin, the platform's own tenant, always stays active: it
#          cannot be renamed, suspended, deactivated or deleted; DETAIL {"operation"}
#
# "new" lists the statuses a row may be inserted with. The seeded system_admin
# is the exception: it is inserted active and has no tenant database (its data
# is the control plane itself). The library reads the allowed moves from the
# DETAIL of a refusal and the README's table is checked against this function,
# so nothing else spells the table out.
# ---------------------------------------------------------------------------

function "lifecycle_moves" {
  schema     = schema.control_plane
  lang       = SQL
  return     = jsonb
  volatility = IMMUTABLE
  as         = <<-SQL
  SELECT '{
    "tenant": {
      "new":       ["pending"],
      "pending":   ["active", "inactive"],
      "active":    ["suspended", "inactive"],
      "suspended": ["active", "inactive"],
      "inactive":  []
    },
    "database": {
      "new":       ["inactive", "migrating", "active"],
      "inactive":  ["migrating", "active"],
      "migrating": ["active", "error", "inactive"],
      "active":    ["migrating", "inactive", "error"],
      "error":     ["migrating", "inactive"]
    }
  }'::jsonb
  SQL
}

function "enforce_tenant_lifecycle" {
  schema = schema.control_plane
  lang   = PLpgSQL
  return = trigger
  as     = <<-SQL
  DECLARE
    previous text;
    allowed  jsonb;
  BEGIN
    -- Statement level: TRUNCATE would take system_admin with everything else.
    IF TG_OP = 'TRUNCATE' THEN
      IF EXISTS (SELECT 1 FROM control_plane.tenants WHERE name = 'system_admin') THEN
        RAISE EXCEPTION USING ERRCODE = 'LC003',
          MESSAGE = 'system_admin is the platform''s own tenant and cannot be deleted (TRUNCATE)',
          DETAIL = '{"operation":"delete"}';
      END IF;
      RETURN NULL;
    END IF;

    IF TG_OP = 'DELETE' THEN
      IF OLD.name = 'system_admin' THEN
        RAISE EXCEPTION USING ERRCODE = 'LC003',
          MESSAGE = 'system_admin is the platform''s own tenant and cannot be deleted',
          DETAIL = '{"operation":"delete"}';
      END IF;
      RETURN OLD;
    END IF;

    IF TG_OP = 'UPDATE' AND OLD.name = 'system_admin' THEN
      IF NEW.name IS DISTINCT FROM OLD.name THEN
        RAISE EXCEPTION USING ERRCODE = 'LC003',
          MESSAGE = 'system_admin is the platform''s own tenant and cannot be renamed',
          DETAIL = '{"operation":"rename"}';
      END IF;
      IF NEW.status IS DISTINCT FROM OLD.status THEN
        RAISE EXCEPTION USING ERRCODE = 'LC003',
          MESSAGE = format('system_admin is the platform''s own tenant and always stays active: it cannot become %s', NEW.status),
          DETAIL = json_build_object('operation', 'status', 'to', NEW.status)::text;
      END IF;
      RETURN NEW;
    END IF;

    -- The seed inserts system_admin active. Another insert of the name is left
    -- to the unique index when system_admin exists, and refused otherwise.
    IF TG_OP = 'INSERT' AND NEW.name = 'system_admin' THEN
      IF NEW.status <> 'active' AND NOT EXISTS (SELECT 1 FROM control_plane.tenants WHERE name = 'system_admin') THEN
        RAISE EXCEPTION USING ERRCODE = 'LC003',
          MESSAGE = format('system_admin is the platform''s own tenant and always stays active: it cannot start as %s', NEW.status),
          DETAIL = json_build_object('operation', 'status', 'to', NEW.status)::text;
      END IF;
      RETURN NEW;
    END IF;

    IF TG_OP = 'UPDATE' AND NEW.status = OLD.status THEN
      RETURN NEW;
    END IF;

    previous := CASE TG_OP WHEN 'INSERT' THEN 'new' ELSE OLD.status::text END;
    allowed := coalesce(control_plane.lifecycle_moves() -> 'tenant' -> previous, '[]'::jsonb);
    IF NOT allowed ? NEW.status::text THEN
      RAISE EXCEPTION USING ERRCODE = 'LC001',
        MESSAGE = format('illegal tenant status transition from %s to %s (allowed from %s: %s)',
          previous, NEW.status, previous,
          coalesce((SELECT string_agg(s, ', ') FROM jsonb_array_elements_text(allowed) AS s), 'none')),
        DETAIL = json_build_object('entity', 'tenant', 'id', NEW.tenant_id, 'name', NEW.name,
          'from', nullif(previous, 'new'), 'to', NEW.status, 'allowed', allowed)::text;
    END IF;

    -- FOR SHARE: the database found stays active until this transaction ends.
    IF NEW.status = 'active' THEN
      PERFORM 1 FROM control_plane.tenant_databases
        WHERE tenant_id = NEW.tenant_id AND status = 'active' FOR SHARE;
      IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LC002',
          MESSAGE = format('tenant %s cannot become active without an active database', NEW.tenant_id),
          DETAIL = json_build_object('id', NEW.tenant_id, 'name', NEW.name)::text;
      END IF;
    END IF;
    RETURN NEW;
  END;
  SQL
}

function "enforce_database_lifecycle" {
  schema = schema.control_plane
  lang   = PLpgSQL
  return = trigger
  as     = <<-SQL
  DECLARE
    previous text;
    allowed  jsonb;
  BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status = OLD.status THEN
      RETURN NEW;
    END IF;
    previous := CASE TG_OP WHEN 'INSERT' THEN 'new' ELSE OLD.status::text END;
    allowed := coalesce(control_plane.lifecycle_moves() -> 'database' -> previous, '[]'::jsonb);
    IF NOT allowed ? NEW.status::text THEN
      RAISE EXCEPTION USING ERRCODE = 'LC001',
        MESSAGE = format('illegal database status transition from %s to %s (allowed from %s: %s)',
          previous, NEW.status, previous,
          coalesce((SELECT string_agg(s, ', ') FROM jsonb_array_elements_text(allowed) AS s), 'none')),
        DETAIL = json_build_object('entity', 'database', 'id', NEW.id, 'name', NEW.database_name,
          'from', nullif(previous, 'new'), 'to', NEW.status, 'allowed', allowed)::text;
    END IF;
    RETURN NEW;
  END;
  SQL
}

trigger "enforce_tenants_lifecycle" {
  on = table.tenants
  before {
    insert = true
    update = true
    delete = true
  }
  for = ROW
  execute {
    function = function.enforce_tenant_lifecycle
  }
}

trigger "enforce_tenants_truncate" {
  on = table.tenants
  before {
    truncate = true
  }
  for = STATEMENT
  execute {
    function = function.enforce_tenant_lifecycle
  }
}

trigger "enforce_tenant_databases_lifecycle" {
  on = table.tenant_databases
  before {
    insert = true
    update = true
  }
  for = ROW
  execute {
    function = function.enforce_database_lifecycle
  }
}

# ---------------------------------------------------------------------------
# Push invalidation: every change to a tenant or to one of its databases
# notifies the channel control_plane_tenant_changes with the tenant's id (both
# ids when a database moves to another tenant), and a TRUNCATE with "*".
# PostgreSQL delivers notifications at COMMIT only and folds duplicates within
# a transaction. TenantConnections listens and evicts what it cached.
# ---------------------------------------------------------------------------

function "notify_tenant_change" {
  schema = schema.control_plane
  lang   = PLpgSQL
  return = trigger
  as     = <<-SQL
  BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
      PERFORM pg_notify('control_plane_tenant_changes', '*');
      RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
      PERFORM pg_notify('control_plane_tenant_changes', OLD.tenant_id::text);
    END IF;
    IF TG_OP <> 'DELETE' THEN
      PERFORM pg_notify('control_plane_tenant_changes', NEW.tenant_id::text);
    END IF;
    RETURN NULL;
  END;
  SQL
}

trigger "notify_tenants_change" {
  on = table.tenants
  after {
    insert = true
    update = true
    delete = true
  }
  for = ROW
  execute {
    function = function.notify_tenant_change
  }
}

trigger "notify_tenants_truncate" {
  on = table.tenants
  after {
    truncate = true
  }
  for = STATEMENT
  execute {
    function = function.notify_tenant_change
  }
}

trigger "notify_tenant_databases_change" {
  on = table.tenant_databases
  after {
    insert = true
    update = true
    delete = true
  }
  for = ROW
  execute {
    function = function.notify_tenant_change
  }
}

trigger "notify_tenant_databases_truncate" {
  on = table.tenant_databases
  after {
    truncate = true
  }
  for = STATEMENT
  execute {
    function = function.notify_tenant_change
  }
}
