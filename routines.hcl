# The functions and triggers of the control plane: updated_at kept honest on
# every table, the audit trail (control_plane.audit_events: every change
# recorded in the same transaction, hash-chained, append-only), the lifecycle
# of tenants and databases, and change notifications.
#
# Atlas Pro manages these blocks itself (add this file to an env's `src`).
# The community build cannot evaluate them (PLpgSQL, trigger and ROW are not
# variables it knows), so they live beside schema.hcl rather than inside it,
# and the project renders them to SQL for both paths: `npm run db:apply` runs
# that SQL, and `npm run db:routines` writes the same SQL as a migration.
# Keep exactly one definition here; nothing else spells these out (the audit
# hash's canonical form is also spelled out in src/services/auditChain.ts,
# which verifies the chain without trusting these functions; a test keeps the
# two equal).

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

# Appends an event to the chain, however it is inserted (by the triggers
# below, by the services, or by hand): the next id, the time, who acted, the
# previous event's hash and this event's hash are set here, never taken from
# the inserted row. A purge event becomes a checkpoint here.
function "audit_events_append" {
  schema = schema.control_plane
  lang   = PLpgSQL
  return = trigger
  as     = <<-SQL
  DECLARE
    last_id bigint;
    last_hash bytea;
    first_id bigint;
    first_kept_id bigint;
    anchor bytea;
    occurred_us text;
    changes_text text;
  BEGIN
    -- One appender at a time, until it commits (the key is "cp_audit" in
    -- ASCII): the chain is a line, so the next appender must see this event.
    PERFORM pg_advisory_xact_lock(7165331879332440436);
    SELECT id, hash INTO last_id, last_hash FROM control_plane.audit_events ORDER BY id DESC LIMIT 1;
    IF NOT FOUND THEN
      last_id := 0;
      last_hash := decode(repeat('00', 32), 'hex');
    END IF;
    NEW.id := last_id + 1;
    NEW.occurred_at := clock_timestamp();
    NEW.actor := coalesce(nullif(current_setting('control_plane.actor', true), ''), session_user);
    NEW.db_role := session_user;
    NEW.reason := coalesce(NEW.reason, nullif(current_setting('control_plane.audit_reason', true), ''));
    NEW.changes := coalesce(NEW.changes, '{}');
    IF NEW.action = 'purge' THEN
      -- The checkpoint: the events before `before` may now be deleted (see
      -- audit_events_guard); the chain then starts at first_kept_id, whose
      -- prev_hash must be anchor_hash, the hash of the last event purged.
      IF NEW.changes ->> 'before' IS NULL THEN
        RAISE EXCEPTION 'a purge event needs changes.before, the time before which events are purged'
          USING ERRCODE = '22023';
      END IF;
      SELECT min(id) INTO first_id FROM control_plane.audit_events;
      SELECT min(id) INTO first_kept_id FROM control_plane.audit_events
        WHERE occurred_at >= (NEW.changes ->> 'before')::timestamptz;
      first_kept_id := coalesce(first_kept_id, NEW.id);
      IF first_kept_id = NEW.id THEN
        anchor := last_hash;
      ELSIF first_kept_id > first_id THEN
        SELECT hash INTO anchor FROM control_plane.audit_events WHERE id = first_kept_id - 1;
      ELSE
        SELECT prev_hash INTO anchor FROM control_plane.audit_events WHERE id = first_kept_id;
      END IF;
      NEW.entity_type := 'audit_trail';
      NEW.entity_id := NULL;
      NEW.tenant_id := NULL;
      NEW.changes := jsonb_build_object(
        'before', NEW.changes -> 'before',
        'first_kept_id', first_kept_id,
        'anchor_hash', encode(anchor, 'hex'),
        'purged', first_kept_id - coalesce(first_id, first_kept_id));
    END IF;
    NEW.prev_hash := last_hash;
    -- The canonical content: a version tag, then each field as a netstring
    -- (<bytes>:<text>,) or "-" for NULL, in this order. One concat() rather
    -- than a chain of ||: the expression is rebuilt in every transaction, and
    -- fewer nodes made a create measurably cheaper (README, Benchmarks).
    -- Only entity_id, tenant_id and reason may be NULL.
    occurred_us := (extract(epoch FROM NEW.occurred_at) * 1000000)::bigint::text;
    changes_text := NEW.changes::text;
    NEW.hash := sha256(last_hash || convert_to(concat('cp-audit-v1',
      octet_length(NEW.id::text), ':', NEW.id, ',',
      octet_length(occurred_us), ':', occurred_us, ',',
      octet_length(NEW.actor), ':', NEW.actor, ',',
      octet_length(NEW.db_role), ':', NEW.db_role, ',',
      octet_length(NEW.action), ':', NEW.action, ',',
      octet_length(NEW.entity_type), ':', NEW.entity_type, ',',
      coalesce(octet_length(NEW.entity_id) || ':' || NEW.entity_id || ',', '-'),
      coalesce(octet_length(NEW.tenant_id::text) || ':' || NEW.tenant_id || ',', '-'),
      octet_length(changes_text), ':', changes_text, ',',
      coalesce(octet_length(NEW.reason) || ':' || NEW.reason || ',', '-')), 'UTF8'));
    RETURN NEW;
  END;
  SQL
}

# audit_events is append-only for every role, its owner included: no UPDATE,
# no TRUNCATE, and DELETE only of events that a purge (a checkpoint event,
# itself chained and recorded) has cut off. Disabling this trigger needs the
# table's owner or a superuser; `control-plane audit verify` then still finds
# any event changed behind its back.
function "audit_events_guard" {
  schema = schema.control_plane
  lang   = PLpgSQL
  return = trigger
  as     = <<-SQL
  BEGIN
    IF TG_OP = 'DELETE' THEN
      IF OLD.id < (SELECT (changes ->> 'first_kept_id')::bigint FROM control_plane.audit_events
                   WHERE action = 'purge' ORDER BY id DESC LIMIT 1) THEN
        RETURN OLD;
      END IF;
    END IF;
    RAISE EXCEPTION 'control_plane.audit_events is append-only: % refused', TG_OP
      USING ERRCODE = 'CPA01',
            HINT = 'Old events are removed only by a purge (control-plane audit purge), which records a checkpoint.';
  END;
  SQL
}

# Records every change to tenants, tenant_databases, system_config,
# database_servers and fleet_runs as an event, in the same transaction: the
# changed fields with their old and new values (leaving out the row's key,
# which is the event's entity id, and the timestamps the triggers keep), a
# connection string (a database's, a server's admin one) only as
# {"changed": true} plus the id of the key it is encrypted under (a label,
# not key material). An UPDATE that changes nothing else is not recorded. A
# TRUNCATE, which fires no row triggers, is recorded as one event.
#
# Not recorded: the fleet ledger (fleet_migrations, a row per database per
# run) and tenant_provisioning (a row per tenant, rewritten at every step):
# progress records, whose outcomes the trail already has (the run's start
# and finish in fleet_runs; the tenant, its database and their statuses);
# an event per database per step would put the chain's lock, held until
# commit, in every fleet worker's way.
#
# A create (or a delete) records every field, so it builds its event in the
# one INSERT, from the row's fields, without comparing old and new; only an
# UPDATE compares them field by field.
function "audit_row_change" {
  schema = schema.control_plane
  lang   = PLpgSQL
  return = trigger
  as     = <<-SQL
  DECLARE
    entity text;
    key_column text;
    -- The encrypted connection string, recorded as <name without _encrypted>: {"changed": true}.
    secret_column text;
    -- The row a create or a delete records.
    whole_row jsonb;
    before_row jsonb;
    after_row jsonb;
    changes jsonb;
    old_key_id text;
    new_key_id text;
  BEGIN
    CASE TG_TABLE_NAME
      WHEN 'tenants' THEN
        entity := 'tenant';
        key_column := 'tenant_id';
      WHEN 'tenant_databases' THEN
        entity := 'tenant_database';
        key_column := 'id';
        secret_column := 'connection_string_encrypted';
      WHEN 'system_config' THEN
        entity := 'system_config';
        key_column := 'key';
      WHEN 'database_servers' THEN
        entity := 'database_server';
        key_column := 'id';
        secret_column := 'admin_connection_string_encrypted';
      WHEN 'fleet_runs' THEN
        entity := 'fleet_run';
        key_column := 'id';
    END CASE;
    IF TG_OP = 'TRUNCATE' THEN
      INSERT INTO control_plane.audit_events (action, entity_type) VALUES ('truncate', entity);
      RETURN NULL;
    END IF;
    IF TG_OP <> 'UPDATE' THEN
      -- A create has only new values, a delete only old ones.
      IF TG_OP = 'INSERT' THEN whole_row := to_jsonb(NEW); ELSE whole_row := to_jsonb(OLD); END IF;
      INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id, changes)
      SELECT CASE TG_OP WHEN 'INSERT' THEN 'create' ELSE 'delete' END, entity, whole_row ->> key_column,
             (whole_row ->> 'tenant_id')::uuid,
             jsonb_object_agg(
               CASE WHEN key = secret_column THEN replace(key, '_encrypted', '') ELSE key END,
               CASE WHEN key = secret_column THEN '{"changed": true}'
                    ELSE jsonb_build_object(CASE TG_OP WHEN 'INSERT' THEN 'new' ELSE 'old' END, value) END)
             || CASE WHEN secret_column IS NULL THEN '{}'
                     ELSE jsonb_build_object('key_id', jsonb_build_object(CASE TG_OP WHEN 'INSERT' THEN 'new' ELSE 'old' END,
                                                                          split_part(whole_row ->> secret_column, ':', 2))) END
      FROM jsonb_each(whole_row - key_column - 'created_at' - 'updated_at');
      RETURN NULL;
    END IF;
    before_row := to_jsonb(OLD);
    after_row := to_jsonb(NEW);
    SELECT coalesce(jsonb_object_agg(
             CASE WHEN field = secret_column THEN replace(field, '_encrypted', '') ELSE field END,
             CASE WHEN field = secret_column THEN '{"changed": true}'
                  ELSE jsonb_build_object('old', before_row -> field, 'new', after_row -> field) END), '{}')
      INTO changes
      FROM jsonb_object_keys(after_row) AS field
      WHERE field NOT IN (key_column, 'created_at', 'updated_at')
        AND (before_row -> field) IS DISTINCT FROM (after_row -> field);
    IF secret_column IS NOT NULL THEN
      old_key_id := split_part(before_row ->> secret_column, ':', 2);
      new_key_id := split_part(after_row ->> secret_column, ':', 2);
      IF old_key_id IS DISTINCT FROM new_key_id THEN
        changes := changes || jsonb_build_object('key_id', jsonb_build_object('old', old_key_id, 'new', new_key_id));
      END IF;
    END IF;
    IF changes = '{}' THEN
      RETURN NULL;
    END IF;
    INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id, changes)
    VALUES ('update', entity, after_row ->> key_column, (after_row ->> 'tenant_id')::uuid, changes);
    RETURN NULL;
  END;
  SQL
}

trigger "audit_events_append" {
  on = table.audit_events
  before {
    insert = true
  }
  for = ROW
  execute {
    function = function.audit_events_append
  }
}

trigger "audit_events_guard" {
  on = table.audit_events
  before {
    update = true
    delete = true
  }
  for = ROW
  execute {
    function = function.audit_events_guard
  }
}

trigger "audit_events_guard_truncate" {
  on = table.audit_events
  before {
    truncate = true
  }
  for = STATEMENT
  execute {
    function = function.audit_events_guard
  }
}

trigger "audit_tenants" {
  on = table.tenants
  after {
    insert = true
    update = true
    delete = true
  }
  for = ROW
  execute {
    function = function.audit_row_change
  }
}

trigger "audit_tenants_truncate" {
  on = table.tenants
  after {
    truncate = true
  }
  for = STATEMENT
  execute {
    function = function.audit_row_change
  }
}

trigger "audit_tenant_databases" {
  on = table.tenant_databases
  after {
    insert = true
    update = true
    delete = true
  }
  for = ROW
  execute {
    function = function.audit_row_change
  }
}

trigger "audit_tenant_databases_truncate" {
  on = table.tenant_databases
  after {
    truncate = true
  }
  for = STATEMENT
  execute {
    function = function.audit_row_change
  }
}

trigger "audit_system_config" {
  on = table.system_config
  after {
    insert = true
    update = true
    delete = true
  }
  for = ROW
  execute {
    function = function.audit_row_change
  }
}

trigger "audit_system_config_truncate" {
  on = table.system_config
  after {
    truncate = true
  }
  for = STATEMENT
  execute {
    function = function.audit_row_change
  }
}

trigger "audit_database_servers" {
  on = table.database_servers
  after {
    insert = true
    update = true
    delete = true
  }
  for = ROW
  execute {
    function = function.audit_row_change
  }
}

trigger "audit_database_servers_truncate" {
  on = table.database_servers
  after {
    truncate = true
  }
  for = STATEMENT
  execute {
    function = function.audit_row_change
  }
}

trigger "audit_fleet_runs" {
  on = table.fleet_runs
  after {
    insert = true
    update = true
    delete = true
  }
  for = ROW
  execute {
    function = function.audit_row_change
  }
}

trigger "audit_fleet_runs_truncate" {
  on = table.fleet_runs
  after {
    truncate = true
  }
  for = STATEMENT
  execute {
    function = function.audit_row_change
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
