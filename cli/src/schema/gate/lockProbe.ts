/**
 * The gate's own rule, require-lock-timeout: a statement that locks a table
 * created by an EARLIER migration must run with `lock_timeout` set, so that a
 * migration waiting behind a long transaction gives up instead of queueing
 * every reader and writer of that table behind it.
 *
 * Observed, not guessed: the files are applied one at a time by Atlas itself
 * (so with its statement splitting and transaction mode) to a scratch
 * database, where event triggers record, for every DDL statement, the
 * `lock_timeout` in force and the tables that existed before the file which
 * the statement locked or changed (pg_locks, pg_event_trigger_ddl_commands,
 * pg_event_trigger_dropped_objects). Plain DML (UPDATE, DELETE) fires no event
 * trigger and is not judged.
 *
 * squawk's own require-lock-timeout is switched off in .squawk.toml: it also
 * flags statements on objects the same file creates, and reports only the
 * first statement of a file. The marker that excepts a statement is squawk's:
 * `-- squawk-ignore require-lock-timeout -- <reason>`.
 */
import { readFile } from "node:fs/promises"
import path from "node:path"
import { sql } from "@databases/pg"
import { atlas, AtlasFailed, atlasEnvName } from "../atlas.ts"
import { atlasUrl, runSql, withConnection, withScratchDatabase } from "../database.ts"
import { finding, type Finding } from "./findings.ts"
import { scanMarkers, squawkExcepts } from "./markers.ts"
import { headline, splitStatements } from "./statements.ts"

export const lockTimeoutRule = "require-lock-timeout"

/** Locks that block writers or other DDL; ROW EXCLUSIVE and weaker are what DML takes anyway. */
const strongLocks = ["ShareUpdateExclusiveLock", "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"]

const probeSetup = `
CREATE SCHEMA gate_probe;
CREATE TABLE gate_probe.existing (oid oid PRIMARY KEY, name text NOT NULL);
CREATE TABLE gate_probe.events (
  id bigserial PRIMARY KEY,
  query text NOT NULL,
  lock_timeout text NOT NULL,
  locks text[] NOT NULL,
  touched text[] NOT NULL
);
CREATE FUNCTION gate_probe.existing_locks() RETURNS text[] LANGUAGE sql AS $$
  SELECT coalesce(array_agg(DISTINCT l.mode || ':' || e.name), '{}')
  FROM pg_locks l JOIN gate_probe.existing e ON e.oid = l.relation
  WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
    AND l.mode = ANY (ARRAY[${strongLocks.map((m) => `'${m}'`).join(", ")}])
$$;
CREATE FUNCTION gate_probe.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO gate_probe.events (query, lock_timeout, locks, touched)
  SELECT current_query(), current_setting('lock_timeout'), gate_probe.existing_locks(),
    coalesce((
      SELECT array_agg(DISTINCT e.name)
      FROM pg_event_trigger_ddl_commands() c
      LEFT JOIN pg_index i ON c.classid = 'pg_class'::regclass AND i.indexrelid = c.objid
      LEFT JOIN pg_trigger t ON c.classid = 'pg_trigger'::regclass AND t.oid = c.objid
      JOIN gate_probe.existing e ON e.oid IN (c.objid, i.indrelid, t.tgrelid)
    ), '{}');
END $$;
CREATE FUNCTION gate_probe.on_drop() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO gate_probe.events (query, lock_timeout, locks, touched)
  SELECT current_query(), current_setting('lock_timeout'), gate_probe.existing_locks(),
    coalesce((
      SELECT array_agg(DISTINCT e.name)
      FROM pg_event_trigger_dropped_objects() d JOIN gate_probe.existing e ON e.oid = d.objid
    ), '{}');
END $$;
CREATE EVENT TRIGGER gate_probe_ddl ON ddl_command_end EXECUTE FUNCTION gate_probe.on_ddl();
CREATE EVENT TRIGGER gate_probe_drop ON sql_drop EXECUTE FUNCTION gate_probe.on_drop();
`

/** Every table, view and index that exists now, named by the table it belongs to. */
const snapshotExisting = `
TRUNCATE gate_probe.existing, gate_probe.events;
INSERT INTO gate_probe.existing (oid, name)
SELECT c.oid, coalesce(i.indrelid, c.oid)::regclass::text
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.oid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'gate_probe', 'atlas_schema_revisions')
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'i', 'I');
`

/** Thrown when the server role may not create event triggers. */
export class ProbeNeedsSuperuser extends Error {}

/** The line of Atlas's output that says what went wrong. */
export const atlasError = (output: string): string => {
  const lines = output.split("\n").map((line) => line.trim()).filter((line) => line !== "")
  const line = lines.find((l) => /^Error:|pq:/.test(l)) ?? lines.at(-1) ?? "atlas failed"
  return line.replace(/^Error:\s*/, "")
}

interface ProbeEvent {
  readonly query: string
  readonly lock_timeout: string
  /** `mode:table` of the strong locks held on tables that existed before the file. */
  readonly locks: ReadonlyArray<string>
  readonly touched: ReadonlyArray<string>
}

/** The statements of one file that locked a pre-existing table with no lock_timeout in force. */
const judge = (file: string, text: string, events: ReadonlyArray<ProbeEvent>): ReadonlyArray<Finding> => {
  const statements = splitStatements(text)
  const { markers } = scanMarkers(file, text)
  const held = new Set<string>()
  const findings: Array<Finding> = []
  let searchFrom = 0
  let previous: string | undefined
  for (const event of events) {
    const fresh = event.locks.filter((lock) => !held.has(lock))
    event.locks.forEach((lock) => held.add(lock))
    // A DROP fires both sql_drop and ddl_command_end: judge each statement once.
    if (event.query === previous) continue
    previous = event.query
    const tables = [...new Set([...fresh.map((lock) => lock.slice(lock.indexOf(":") + 1)), ...event.touched])]
    const query = event.query.trim()
    const offset = text.indexOf(query, searchFrom)
    if (offset !== -1) searchFrom = offset + query.length
    const statement = statements.find((s) => s.start === offset) ?? statements.find((s) => s.text === query)
    if (tables.length === 0 || event.lock_timeout !== "0") continue
    if (statement !== undefined && squawkExcepts(markers, statement.comments, lockTimeoutRule)) continue
    const modes = [...new Set(fresh.map((lock) => lock.slice(0, lock.indexOf(":"))))]
    findings.push(
      finding({
        file,
        line: statement?.line,
        statement: headline(statement?.text ?? query),
        source: "gate",
        rule: lockTimeoutRule,
        message:
          `locks ${tables.join(", ")}${modes.length > 0 ? ` (${modes.join(", ")})` : ""}, created by an earlier migration, ` +
          `with no lock_timeout: put SET lock_timeout = '5s'; before it`
      })
    )
  }
  return findings
}

/**
 * Applies `files[firstNew..]` of `directory` one by one on a scratch database
 * beside `adminUrl` (the files before them first, unjudged) and reports every
 * statement that locks an earlier table without a lock_timeout.
 */
export const probeLockTimeouts = (
  adminUrl: string,
  directory: string,
  files: ReadonlyArray<string>,
  firstNew: number
): Promise<ReadonlyArray<Finding>> =>
  withScratchDatabase(adminUrl, "cp_gate_probe", async (probe) => {
    // Whatever the server's default, a session starts without a lock_timeout here.
    await runSql(adminUrl, `ALTER DATABASE "${probe.name}" SET lock_timeout = 0`)
    const env = { DATABASE_URL: atlasUrl(probe.url) }
    // --allow-dirty: the probe's own schema is there before the first file is applied.
    const apply = (count: number) =>
      atlas(["migrate", "apply", "--env", atlasEnvName(), "--dir", `file://${directory}`, "--allow-dirty", String(count)], env)
    if (firstNew > 0) await apply(firstNew)
    await runSql(probe.url, probeSetup).catch((error: unknown) => {
      if ((error as { code?: unknown }).code !== "42501") throw error
      throw new ProbeNeedsSuperuser(
        "the lock_timeout probe creates event triggers, which takes a superuser: point CONTROL_PLANE_ADMIN_URL at one"
      )
    })
    const findings: Array<Finding> = []
    for (const file of files.slice(firstNew)) {
      await runSql(probe.url, snapshotExisting)
      try {
        await apply(1)
      } catch (error) {
        if (!(error instanceof AtlasFailed)) throw error
        findings.push(finding({ file, source: "gate", rule: "replay", message: `does not apply after the files before it: ${atlasError(error.output)}` }))
        break
      }
      const events = await withConnection(probe.url, (db) =>
        db.query(sql`SELECT query, lock_timeout, locks, touched FROM gate_probe.events ORDER BY id`)
      )
      findings.push(...judge(file, await readFile(path.join(directory, file), "utf8"), events as ReadonlyArray<ProbeEvent>))
    }
    return findings
  })
