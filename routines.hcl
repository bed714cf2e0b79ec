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
# Every function pins its search_path to pg_catalog, pg_temp (a catalog test
# fails on one that does not): a trigger runs with the search_path of whoever
# fired it, and a role that may create a schema could otherwise put its own
# `<` or clock_timestamp() ahead of pg_catalog's and so delete events past
# the guard or keep its changes out of the trail. So the bodies name every
# object of control_plane with its schema.
#
# Keep exactly one definition here; nothing else spells these out (the audit
# hash's canonical form is also spelled out in src/services/auditChain.ts,
# which verifies the chain without trusting these functions; a test keeps the
# two equal).

function "update_updated_at_column" {
  schema      = schema.control_plane
  lang        = PLpgSQL
  return      = trigger
  search_path = "pg_catalog, pg_temp"
  as          = <<-SQL
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
  schema      = schema.control_plane
  lang        = PLpgSQL
  return      = trigger
  search_path = "pg_catalog, pg_temp"
  as          = <<-SQL
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
  schema      = schema.control_plane
  lang        = PLpgSQL
  return      = trigger
  search_path = "pg_catalog, pg_temp"
  as          = <<-SQL
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
# changed fields with their old and new values (on create and delete leaving
# out the row's key, which is the event's entity id, and the timestamps the
# triggers keep; an update that changes the key or created_at records them,
# under the new key), a
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
# One function per table, each naming its table's fields: a create or a
# delete records every one of them, an UPDATE those that changed. A generic
# function (the row as jsonb, its fields aggregated with jsonb_each) cost
# about 25 µs more per event, a third of what the audit added to a create
# (bench/README.md). A test reads these functions back from the database and
# fails when a column of an audited table is missing from any of the three
# paths, so a new column cannot slip past the trail.
function "audit_tenants_change" {
  schema      = schema.control_plane
  lang        = PLpgSQL
  return      = trigger
  search_path = "pg_catalog, pg_temp"
  as          = <<-SQL
  DECLARE
    changes jsonb;
  BEGIN
    IF TG_OP = 'INSERT' THEN
      INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id, changes)
      VALUES ('create', 'tenant', NEW.tenant_id::text, NEW.tenant_id, jsonb_build_object(
          'name', jsonb_build_object('new', NEW.name),
          'environment', jsonb_build_object('new', NEW.environment),
          'status', jsonb_build_object('new', NEW.status)));
    ELSIF TG_OP = 'UPDATE' THEN
      changes := CASE WHEN NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
             THEN jsonb_build_object('tenant_id', jsonb_build_object('old', OLD.tenant_id, 'new', NEW.tenant_id)) ELSE '{}' END
        || CASE WHEN NEW.created_at IS DISTINCT FROM OLD.created_at
             THEN jsonb_build_object('created_at', jsonb_build_object('old', OLD.created_at, 'new', NEW.created_at)) ELSE '{}' END
        || CASE WHEN NEW.name IS DISTINCT FROM OLD.name
             THEN jsonb_build_object('name', jsonb_build_object('old', OLD.name, 'new', NEW.name)) ELSE '{}' END
        || CASE WHEN NEW.environment IS DISTINCT FROM OLD.environment
             THEN jsonb_build_object('environment', jsonb_build_object('old', OLD.environment, 'new', NEW.environment)) ELSE '{}' END
        || CASE WHEN NEW.status IS DISTINCT FROM OLD.status
             THEN jsonb_build_object('status', jsonb_build_object('old', OLD.status, 'new', NEW.status)) ELSE '{}' END;
      IF changes <> '{}' THEN
        INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id, changes)
        VALUES ('update', 'tenant', NEW.tenant_id::text, NEW.tenant_id, changes);
      END IF;
    ELSIF TG_OP = 'DELETE' THEN
      INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id, changes)
      VALUES ('delete', 'tenant', OLD.tenant_id::text, OLD.tenant_id, jsonb_build_object(
          'name', jsonb_build_object('old', OLD.name),
          'environment', jsonb_build_object('old', OLD.environment),
          'status', jsonb_build_object('old', OLD.status)));
    ELSE
      INSERT INTO control_plane.audit_events (action, entity_type) VALUES ('truncate', 'tenant');
    END IF;
    RETURN NULL;
  END;
  SQL
}

function "audit_tenant_databases_change" {
  schema      = schema.control_plane
  lang        = PLpgSQL
  return      = trigger
  search_path = "pg_catalog, pg_temp"
  as          = <<-SQL
  DECLARE
    changes jsonb;
  BEGIN
    IF TG_OP = 'INSERT' THEN
      INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id, changes)
      VALUES ('create', 'tenant_database', NEW.id::text, NEW.tenant_id, jsonb_build_object(
          'tenant_id', jsonb_build_object('new', NEW.tenant_id),
          'database_name', jsonb_build_object('new', NEW.database_name),
          'host', jsonb_build_object('new', NEW.host),
          'port', jsonb_build_object('new', NEW.port),
          'status', jsonb_build_object('new', NEW.status),
          'connection_string', '{"changed": true}'::jsonb,
          'key_id', jsonb_build_object('new', split_part(NEW.connection_string_encrypted, ':', 2))));
    ELSIF TG_OP = 'UPDATE' THEN
      changes := CASE WHEN NEW.id IS DISTINCT FROM OLD.id
             THEN jsonb_build_object('id', jsonb_build_object('old', OLD.id, 'new', NEW.id)) ELSE '{}' END
        || CASE WHEN NEW.created_at IS DISTINCT FROM OLD.created_at
             THEN jsonb_build_object('created_at', jsonb_build_object('old', OLD.created_at, 'new', NEW.created_at)) ELSE '{}' END
        || CASE WHEN NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
             THEN jsonb_build_object('tenant_id', jsonb_build_object('old', OLD.tenant_id, 'new', NEW.tenant_id)) ELSE '{}' END
        || CASE WHEN NEW.database_name IS DISTINCT FROM OLD.database_name
             THEN jsonb_build_object('database_name', jsonb_build_object('old', OLD.database_name, 'new', NEW.database_name)) ELSE '{}' END
        || CASE WHEN NEW.host IS DISTINCT FROM OLD.host
             THEN jsonb_build_object('host', jsonb_build_object('old', OLD.host, 'new', NEW.host)) ELSE '{}' END
        || CASE WHEN NEW.port IS DISTINCT FROM OLD.port
             THEN jsonb_build_object('port', jsonb_build_object('old', OLD.port, 'new', NEW.port)) ELSE '{}' END
        || CASE WHEN NEW.status IS DISTINCT FROM OLD.status
             THEN jsonb_build_object('status', jsonb_build_object('old', OLD.status, 'new', NEW.status)) ELSE '{}' END
        || CASE WHEN NEW.connection_string_encrypted IS DISTINCT FROM OLD.connection_string_encrypted
             THEN '{"connection_string": {"changed": true}}'::jsonb ELSE '{}' END
        || CASE WHEN split_part(NEW.connection_string_encrypted, ':', 2) IS DISTINCT FROM split_part(OLD.connection_string_encrypted, ':', 2)
             THEN jsonb_build_object('key_id', jsonb_build_object('old', split_part(OLD.connection_string_encrypted, ':', 2), 'new', split_part(NEW.connection_string_encrypted, ':', 2))) ELSE '{}' END;
      IF changes <> '{}' THEN
        INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id, changes)
        VALUES ('update', 'tenant_database', NEW.id::text, NEW.tenant_id, changes);
      END IF;
    ELSIF TG_OP = 'DELETE' THEN
      INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id, changes)
      VALUES ('delete', 'tenant_database', OLD.id::text, OLD.tenant_id, jsonb_build_object(
          'tenant_id', jsonb_build_object('old', OLD.tenant_id),
          'database_name', jsonb_build_object('old', OLD.database_name),
          'host', jsonb_build_object('old', OLD.host),
          'port', jsonb_build_object('old', OLD.port),
          'status', jsonb_build_object('old', OLD.status),
          'connection_string', '{"changed": true}'::jsonb,
          'key_id', jsonb_build_object('old', split_part(OLD.connection_string_encrypted, ':', 2))));
    ELSE
      INSERT INTO control_plane.audit_events (action, entity_type) VALUES ('truncate', 'tenant_database');
    END IF;
    RETURN NULL;
  END;
  SQL
}

function "audit_system_config_change" {
  schema      = schema.control_plane
  lang        = PLpgSQL
  return      = trigger
  search_path = "pg_catalog, pg_temp"
  as          = <<-SQL
  DECLARE
    changes jsonb;
  BEGIN
    IF TG_OP = 'INSERT' THEN
      INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id, changes)
      VALUES ('create', 'system_config', NEW.key, NULL, jsonb_build_object(
          'value', jsonb_build_object('new', NEW.value)));
    ELSIF TG_OP = 'UPDATE' THEN
      changes := CASE WHEN NEW.key IS DISTINCT FROM OLD.key
             THEN jsonb_build_object('key', jsonb_build_object('old', OLD.key, 'new', NEW.key)) ELSE '{}' END
        || CASE WHEN NEW.value IS DISTINCT FROM OLD.value
             THEN jsonb_build_object('value', jsonb_build_object('old', OLD.value, 'new', NEW.value)) ELSE '{}' END;
      IF changes <> '{}' THEN
        INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id, changes)
        VALUES ('update', 'system_config', NEW.key, NULL, changes);
      END IF;
    ELSIF TG_OP = 'DELETE' THEN
      INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id, changes)
      VALUES ('delete', 'system_config', OLD.key, NULL, jsonb_build_object(
          'value', jsonb_build_object('old', OLD.value)));
    ELSE
      INSERT INTO control_plane.audit_events (action, entity_type) VALUES ('truncate', 'system_config');
    END IF;
    RETURN NULL;
  END;
  SQL
}

function "audit_database_servers_change" {
  schema      = schema.control_plane
  lang        = PLpgSQL
  return      = trigger
  search_path = "pg_catalog, pg_temp"
  as          = <<-SQL
  DECLARE
    changes jsonb;
  BEGIN
    IF TG_OP = 'INSERT' THEN
      INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id, changes)
      VALUES ('create', 'database_server', NEW.id::text, NULL, jsonb_build_object(
          'name', jsonb_build_object('new', NEW.name),
          'host', jsonb_build_object('new', NEW.host),
          'port', jsonb_build_object('new', NEW.port),
          'max_databases', jsonb_build_object('new', NEW.max_databases),
          'status', jsonb_build_object('new', NEW.status),
          'admin_connection_string', '{"changed": true}'::jsonb,
          'key_id', jsonb_build_object('new', split_part(NEW.admin_connection_string_encrypted, ':', 2))));
    ELSIF TG_OP = 'UPDATE' THEN
      changes := CASE WHEN NEW.id IS DISTINCT FROM OLD.id
             THEN jsonb_build_object('id', jsonb_build_object('old', OLD.id, 'new', NEW.id)) ELSE '{}' END
        || CASE WHEN NEW.created_at IS DISTINCT FROM OLD.created_at
             THEN jsonb_build_object('created_at', jsonb_build_object('old', OLD.created_at, 'new', NEW.created_at)) ELSE '{}' END
        || CASE WHEN NEW.name IS DISTINCT FROM OLD.name
             THEN jsonb_build_object('name', jsonb_build_object('old', OLD.name, 'new', NEW.name)) ELSE '{}' END
        || CASE WHEN NEW.host IS DISTINCT FROM OLD.host
             THEN jsonb_build_object('host', jsonb_build_object('old', OLD.host, 'new', NEW.host)) ELSE '{}' END
        || CASE WHEN NEW.port IS DISTINCT FROM OLD.port
             THEN jsonb_build_object('port', jsonb_build_object('old', OLD.port, 'new', NEW.port)) ELSE '{}' END
        || CASE WHEN NEW.max_databases IS DISTINCT FROM OLD.max_databases
             THEN jsonb_build_object('max_databases', jsonb_build_object('old', OLD.max_databases, 'new', NEW.max_databases)) ELSE '{}' END
        || CASE WHEN NEW.status IS DISTINCT FROM OLD.status
             THEN jsonb_build_object('status', jsonb_build_object('old', OLD.status, 'new', NEW.status)) ELSE '{}' END
        || CASE WHEN NEW.admin_connection_string_encrypted IS DISTINCT FROM OLD.admin_connection_string_encrypted
             THEN '{"admin_connection_string": {"changed": true}}'::jsonb ELSE '{}' END
        || CASE WHEN split_part(NEW.admin_connection_string_encrypted, ':', 2) IS DISTINCT FROM split_part(OLD.admin_connection_string_encrypted, ':', 2)
             THEN jsonb_build_object('key_id', jsonb_build_object('old', split_part(OLD.admin_connection_string_encrypted, ':', 2), 'new', split_part(NEW.admin_connection_string_encrypted, ':', 2))) ELSE '{}' END;
      IF changes <> '{}' THEN
        INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id, changes)
        VALUES ('update', 'database_server', NEW.id::text, NULL, changes);
      END IF;
    ELSIF TG_OP = 'DELETE' THEN
      INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id, changes)
      VALUES ('delete', 'database_server', OLD.id::text, NULL, jsonb_build_object(
          'name', jsonb_build_object('old', OLD.name),
          'host', jsonb_build_object('old', OLD.host),
          'port', jsonb_build_object('old', OLD.port),
          'max_databases', jsonb_build_object('old', OLD.max_databases),
          'status', jsonb_build_object('old', OLD.status),
          'admin_connection_string', '{"changed": true}'::jsonb,
          'key_id', jsonb_build_object('old', split_part(OLD.admin_connection_string_encrypted, ':', 2))));
    ELSE
      INSERT INTO control_plane.audit_events (action, entity_type) VALUES ('truncate', 'database_server');
    END IF;
    RETURN NULL;
  END;
  SQL
}

function "audit_fleet_runs_change" {
  schema      = schema.control_plane
  lang        = PLpgSQL
  return      = trigger
  search_path = "pg_catalog, pg_temp"
  as          = <<-SQL
  DECLARE
    changes jsonb;
  BEGIN
    IF TG_OP = 'INSERT' THEN
      INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id, changes)
      VALUES ('create', 'fleet_run', NEW.id::text, NULL, jsonb_build_object(
          'status', jsonb_build_object('new', NEW.status),
          'target_version', jsonb_build_object('new', NEW.target_version),
          'concurrency', jsonb_build_object('new', NEW.concurrency),
          'canary', jsonb_build_object('new', NEW.canary),
          'max_failures', jsonb_build_object('new', NEW.max_failures),
          'started_at', jsonb_build_object('new', NEW.started_at),
          'finished_at', jsonb_build_object('new', NEW.finished_at)));
    ELSIF TG_OP = 'UPDATE' THEN
      changes := CASE WHEN NEW.id IS DISTINCT FROM OLD.id
             THEN jsonb_build_object('id', jsonb_build_object('old', OLD.id, 'new', NEW.id)) ELSE '{}' END
        || CASE WHEN NEW.status IS DISTINCT FROM OLD.status
             THEN jsonb_build_object('status', jsonb_build_object('old', OLD.status, 'new', NEW.status)) ELSE '{}' END
        || CASE WHEN NEW.target_version IS DISTINCT FROM OLD.target_version
             THEN jsonb_build_object('target_version', jsonb_build_object('old', OLD.target_version, 'new', NEW.target_version)) ELSE '{}' END
        || CASE WHEN NEW.concurrency IS DISTINCT FROM OLD.concurrency
             THEN jsonb_build_object('concurrency', jsonb_build_object('old', OLD.concurrency, 'new', NEW.concurrency)) ELSE '{}' END
        || CASE WHEN NEW.canary IS DISTINCT FROM OLD.canary
             THEN jsonb_build_object('canary', jsonb_build_object('old', OLD.canary, 'new', NEW.canary)) ELSE '{}' END
        || CASE WHEN NEW.max_failures IS DISTINCT FROM OLD.max_failures
             THEN jsonb_build_object('max_failures', jsonb_build_object('old', OLD.max_failures, 'new', NEW.max_failures)) ELSE '{}' END
        || CASE WHEN NEW.started_at IS DISTINCT FROM OLD.started_at
             THEN jsonb_build_object('started_at', jsonb_build_object('old', OLD.started_at, 'new', NEW.started_at)) ELSE '{}' END
        || CASE WHEN NEW.finished_at IS DISTINCT FROM OLD.finished_at
             THEN jsonb_build_object('finished_at', jsonb_build_object('old', OLD.finished_at, 'new', NEW.finished_at)) ELSE '{}' END;
      IF changes <> '{}' THEN
        INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id, changes)
        VALUES ('update', 'fleet_run', NEW.id::text, NULL, changes);
      END IF;
    ELSIF TG_OP = 'DELETE' THEN
      INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id, changes)
      VALUES ('delete', 'fleet_run', OLD.id::text, NULL, jsonb_build_object(
          'status', jsonb_build_object('old', OLD.status),
          'target_version', jsonb_build_object('old', OLD.target_version),
          'concurrency', jsonb_build_object('old', OLD.concurrency),
          'canary', jsonb_build_object('old', OLD.canary),
          'max_failures', jsonb_build_object('old', OLD.max_failures),
          'started_at', jsonb_build_object('old', OLD.started_at),
          'finished_at', jsonb_build_object('old', OLD.finished_at)));
    ELSE
      INSERT INTO control_plane.audit_events (action, entity_type) VALUES ('truncate', 'fleet_run');
    END IF;
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
    function = function.audit_tenants_change
  }
}

trigger "audit_tenants_truncate" {
  on = table.tenants
  after {
    truncate = true
  }
  for = STATEMENT
  execute {
    function = function.audit_tenants_change
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
    function = function.audit_tenant_databases_change
  }
}

trigger "audit_tenant_databases_truncate" {
  on = table.tenant_databases
  after {
    truncate = true
  }
  for = STATEMENT
  execute {
    function = function.audit_tenant_databases_change
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
    function = function.audit_system_config_change
  }
}

trigger "audit_system_config_truncate" {
  on = table.system_config
  after {
    truncate = true
  }
  for = STATEMENT
  execute {
    function = function.audit_system_config_change
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
    function = function.audit_database_servers_change
  }
}

trigger "audit_database_servers_truncate" {
  on = table.database_servers
  after {
    truncate = true
  }
  for = STATEMENT
  execute {
    function = function.audit_database_servers_change
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
    function = function.audit_fleet_runs_change
  }
}

trigger "audit_fleet_runs_truncate" {
  on = table.fleet_runs
  after {
    truncate = true
  }
  for = STATEMENT
  execute {
    function = function.audit_fleet_runs_change
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
  schema      = schema.control_plane
  lang        = SQL
  return      = jsonb
  volatility  = IMMUTABLE
  search_path = "pg_catalog, pg_temp"
  as          = <<-SQL
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
  schema      = schema.control_plane
  lang        = PLpgSQL
  return      = trigger
  search_path = "pg_catalog, pg_temp"
  as          = <<-SQL
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
  schema      = schema.control_plane
  lang        = PLpgSQL
  return      = trigger
  search_path = "pg_catalog, pg_temp"
  as          = <<-SQL
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
  schema      = schema.control_plane
  lang        = PLpgSQL
  return      = trigger
  search_path = "pg_catalog, pg_temp"
  as          = <<-SQL
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
