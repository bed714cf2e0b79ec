/**
 * The gate's own rule, require-lock-timeout: a statement that locks a table
 * created by an EARLIER migration must run with `lock_timeout` set, so that a
 * migration waiting behind a long transaction gives up instead of queueing
 * every reader and writer of that table behind it.
 *
 * Observed, not guessed: the files are replayed on a scratch database as the
 * engine runs them (the statements PostgreSQL's parser finds, each file in
 * one transaction unless it says `-- atlas:txmode none`, a fresh session
 * state per file), while event triggers record, for every DDL statement, the
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
import { Effect, FileSystem, Schema } from "effect"
import path from "node:path"
import { type Connection, connect, type PostgresError } from "../postgres.ts"
import { ScratchDatabase } from "../ScratchDatabase.ts"
import { finding, type Finding } from "./findings.ts"
import { runsOutsideTransaction, scanMarkers, squawkExcepts } from "./markers.ts"
import { commentsAbove, headline, type Statement, statementsOf } from "./statements.ts"

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

/** The role of the scratch-database server may not create event triggers. */
export class ProbeNeedsSuperuser extends Schema.TaggedError<ProbeNeedsSuperuser>()("ProbeNeedsSuperuser", {
  message: Schema.String
}) {}

interface ProbeEvent {
  readonly id: string
  readonly lock_timeout: string
  /** `mode:table` of the strong locks held on tables that existed before the file. */
  readonly locks: ReadonlyArray<string>
  readonly touched: ReadonlyArray<string>
}

/** What a statement did, as the event triggers saw it. */
interface Observed {
  readonly statement: Statement
  readonly events: ReadonlyArray<ProbeEvent>
}

/** The statements of one file that locked a pre-existing table with no lock_timeout in force. */
const judge = (file: string, text: string, observed: ReadonlyArray<Observed>): ReadonlyArray<Finding> => {
  const lines = text.split("\n")
  const { markers } = scanMarkers(file, text)
  const held = new Set<string>()
  const findings: Array<Finding> = []
  for (const { statement, events } of observed) {
    if (events.length === 0) continue
    const locks = [...new Set(events.flatMap((event) => event.locks))]
    // Locks taken by an earlier statement of the same transaction are that statement's doing.
    const fresh = locks.filter((lock) => !held.has(lock))
    locks.forEach((lock) => held.add(lock))
    const tables = [...new Set([...fresh.map((lock) => lock.slice(lock.indexOf(":") + 1)), ...events.flatMap((e) => e.touched)])]
    if (tables.length === 0 || events.every((event) => event.lock_timeout !== "0")) continue
    if (squawkExcepts(markers, commentsAbove(lines, statement.line), lockTimeoutRule)) continue
    const modes = [...new Set(fresh.map((lock) => lock.slice(0, lock.indexOf(":"))))]
    findings.push(
      finding({
        file,
        line: statement.line,
        statement: headline(statement.text),
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

/** What replaying a file saw; `failed` is the statement that did not run (and why), if one did not. */
interface Replayed {
  readonly observed: ReadonlyArray<Observed>
  readonly failed: { readonly statement: Statement; readonly message: string } | undefined
}

/**
 * Replays one file's statements as the engine would: in one transaction
 * (rolled back on failure) unless the file runs outside one; with `record`,
 * collects the probe's events of each statement.
 */
const replayFile = (db: Connection, text: string, statements: ReadonlyArray<Statement>, record: boolean) =>
  Effect.gen(function*() {
    const observed: Array<Observed> = []
    let failed: Replayed["failed"]
    let last = "0"
    const run = Effect.gen(function*() {
      for (const statement of statements) {
        const ran = yield* Effect.result(db.query(statement.text))
        if (ran._tag === "Failure") {
          failed = { statement, message: ran.failure.message }
          return yield* Effect.fail("replay failed" as const)
        }
        if (!record) continue
        const events = yield* db.query<ProbeEvent>(
          "SELECT id::text, lock_timeout, locks, touched FROM gate_probe.events WHERE id > $1::bigint ORDER BY id",
          [last]
        )
        if (events.length > 0) last = events.at(-1)!.id
        observed.push({ statement, events })
      }
    })
    // Every file starts as in a fresh session, and without a lock_timeout whatever the server's default.
    yield* db.query("RESET ALL; SET lock_timeout = 0")
    yield* (runsOutsideTransaction(text) ? run : db.transaction(run)).pipe(
      Effect.catchIf((error) => error === "replay failed", () => Effect.void)
    )
    const result: Replayed = { observed, failed }
    return result
  })

/**
 * Replays `files[firstNew..]` of `directory` one by one on a scratch database
 * (the files before them first, unjudged) and reports every statement that
 * locks an earlier table without a lock_timeout.
 */
export const probeLockTimeouts = (directory: string, files: ReadonlyArray<string>, firstNew: number) =>
  Effect.scoped(
    Effect.gen(function*() {
      const scratch = yield* ScratchDatabase
      const fs = yield* FileSystem.FileSystem
      const probe = yield* scratch.make("cp_gate_probe")
      const statements = yield* statementsOf(directory, files)
      const db = yield* connect(probe.url)
      const findings: Array<Finding> = []
      const replayFailed = (file: string, failed: NonNullable<Replayed["failed"]>) =>
        finding({
          file,
          line: failed.statement.line,
          statement: headline(failed.statement.text),
          source: "gate",
          rule: "replay",
          message: `does not apply after the files before it: ${failed.message}`
        })
      for (const file of files.slice(0, firstNew)) {
        const { failed } = yield* replayFile(db, yield* fs.readFileString(path.join(directory, file)), statements.get(file) ?? [], false)
        if (failed !== undefined) return [replayFailed(file, failed)]
      }
      yield* db.query(probeSetup).pipe(
        Effect.catchTag("PostgresError", (error): Effect.Effect<never, PostgresError | ProbeNeedsSuperuser> =>
          error.reason === "PermissionDenied"
            ? Effect.fail(new ProbeNeedsSuperuser({
                message: "the lock_timeout probe creates event triggers, which takes a superuser: point CONTROL_PLANE_ADMIN_URL at one"
              }))
            : Effect.fail(error))
      )
      for (const file of files.slice(firstNew)) {
        const text = yield* fs.readFileString(path.join(directory, file))
        yield* db.query(snapshotExisting)
        const { observed, failed } = yield* replayFile(db, text, statements.get(file) ?? [], true)
        if (failed !== undefined) {
          findings.push(replayFailed(file, failed))
          break
        }
        findings.push(...judge(file, text, observed))
      }
      return findings
    })
  )
