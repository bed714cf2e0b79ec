/**
 * The fault-injection harness: a migrated database of the test file's own
 * with a key ring, the CLI as a killable process, the audit append lock as a
 * way to stop any write at a known point inside its transaction, and the
 * checks that must hold after every fault (invariants.ts).
 *
 * Every write of the control plane appends audit events under one advisory
 * lock, so holding that lock freezes the next write of any command in the
 * middle of its transaction, whatever the command is. That is what makes a
 * kill case one entry of a table (`KillCase`): a command line, optionally what
 * it must have done before it is frozen and killed, and optionally how to
 * finish its work afterwards. A process that is not the CLI (a fixture that
 * provisions, or runs a fleet migration with a scratch template) is frozen and
 * killed the same way (`killInsideWrite`); a fixture may also kill itself at a
 * point of its own choosing (provisioning's step events, a fleet run's
 * progress).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { Buffer } from "node:buffer"
import { fileURLToPath } from "node:url"
import pg, { sql } from "@databases/pg"
import type { ConnectionPool } from "@databases/pg"
import { Context, Effect, Layer, ManagedRuntime, Redacted, References, Result } from "effect"
import { ConnectionStringCrypto } from "../../src/crypto/ConnectionStringCrypto.ts"
import { KeyRing } from "../../src/crypto/KeyRing.ts"
import { DatabaseConfig, type DatabaseSettings } from "../../src/db/DatabaseConfig.ts"
import { Db } from "../../src/db/Db.ts"
import { Actor } from "../../src/services/Actor.ts"
import { AuditTrail } from "../../src/services/AuditTrail.ts"
import { SystemConfig } from "../../src/services/SystemConfig.ts"
import { TenantDatabases } from "../../src/services/TenantDatabases.ts"
import { Tenants } from "../../src/services/Tenants.ts"
import { testKeyRing } from "../cli/harness.ts"
import { dropByPrefix, newNamePrefix } from "../fleet/support.ts"
import { createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"

/** The advisory lock key every audit append takes ("cp_audit" in ASCII; see routines.hcl). */
export const auditLockKey = 7165331879332440436n

/** The application_name of the bed's own connections, so that waits can tell them from the command's. */
const bedApplication = "cp_fault_bed"

const withApplicationName = (url: string, name: string): string => {
  const parsed = new URL(url)
  parsed.searchParams.set("application_name", name)
  return parsed.toString()
}

/** A test bed: the database, a two-key ring (old primary, new decrypt-only), and a pool for looking. */
export interface FaultBed {
  readonly database: TestDatabase
  readonly keys: ReturnType<typeof testKeyRing>["keys"]
  /** The CLI's environment with `primary` as CONTROL_PLANE_PRIMARY_KEY_ID (both keys in the ring). */
  readonly cliEnv: (primary?: "old" | "new") => Record<string, string>
  /** The ring, as the library sees it, with `primary`. */
  readonly ring: (primary?: "old" | "new") => KeyRing
  /** A small pool of the test's own, for inspecting and for holding locks. */
  readonly pool: ConnectionPool
  /** Tenants at the start (seeded before the audit trail existed), which the trail does not replay. */
  readonly baseline: ReadonlyArray<{ readonly tenant_id: string; readonly name: string; readonly environment: string; readonly status: string }>
  /** The role and database name prefix of the bed's provisioned tenants (`tp<8 hex>_`), all dropped on close. */
  readonly prefix: string
  readonly close: () => Promise<void>
}

export const createFaultBed = async (label: string): Promise<FaultBed> => {
  const database = await createMigratedTestDatabase(label)
  const { keys } = testKeyRing(["old", "new"])
  const pool = pg.default({ connectionString: withApplicationName(database.url, bedApplication), bigIntMode: "bigint", poolSize: 3 })
  const baseline = await pool.query(sql`SELECT tenant_id, name, environment::text, status::text FROM control_plane.tenants`)
  const prefix = newNamePrefix()
  return {
    database,
    keys,
    pool,
    baseline: baseline as FaultBed["baseline"],
    prefix,
    cliEnv: (primary = "old") => ({
      DATABASE_URL: database.url,
      CONTROL_PLANE_ENCRYPTION_KEYS: keys.map(({ id, key }) => `${id}:${key}`).join(","),
      CONTROL_PLANE_PRIMARY_KEY_ID: primary
    }),
    ring: (primary = "old") =>
      Result.getOrThrow(
        KeyRing.make(
          keys.map(({ id, key }) => ({ id: id as never, material: Redacted.make(new Uint8Array(Buffer.from(key, "base64"))) })),
          primary
        )
      ),
    close: async () => {
      await pool.dispose()
      await dropByPrefix(prefix)
      await database.drop()
    }
  }
}

/** The bed as a service, for `it.layer(FaultBedService.layer(label))`: made for the file, closed at its end. */
export class FaultBedService extends Context.Service<FaultBedService, FaultBed>()("test/faults/FaultBed") {
  static readonly layer = (label: string) =>
    Layer.effect(
      FaultBedService,
      Effect.acquireRelease(Effect.promise(() => createFaultBed(label)), (bed) => Effect.promise(() => bed.close()))
    )
}

/** Every service over a pool of its own on `url` (the bed's database, or a proxy in front of it). */
export const servicesLayer = (
  bed: FaultBed,
  settings: Partial<Omit<DatabaseSettings, "url">> & { readonly url?: string } = {},
  primary: "old" | "new" = "old"
) =>
  Layer.mergeAll(
    Tenants.layerNoDeps,
    TenantDatabases.layerNoDeps,
    SystemConfig.layerNoDeps,
    AuditTrail.layerNoDeps
  ).pipe(
    Layer.provideMerge(Layer.succeed(ConnectionStringCrypto, ConnectionStringCrypto.fromKeyRing(bed.ring(primary)))),
    Layer.provideMerge(
      Db.layerNoDeps.pipe(
        Layer.provide(DatabaseConfig.layerWith({ poolSize: 2, ...settings, url: Redacted.make(settings.url ?? bed.database.url) }))
      )
    ),
    Layer.provideMerge(Layer.succeed(Actor, Actor.of({ name: "fault-suite" }))),
    // The services log each registration and reveal at Info: keep the test output to what matters.
    Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "Warn"))
  )

export type Services = Layer.Success<ReturnType<typeof servicesLayer>>

/** A runtime of the services; dispose it when done. */
export const servicesRuntime = (...args: Parameters<typeof servicesLayer>) => ManagedRuntime.make(servicesLayer(...args))

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs` saying what it waited for. */
export const waitUntil = async (what: string, condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Backends of this database (other than `exceptPid`) waiting for the audit append lock. */
export const auditLockWaiters = async (bed: FaultBed, exceptPid?: number): Promise<ReadonlyArray<number>> => {
  const rows = await bed.pool.query(sql`
    SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
    WHERE a.datname = ${bed.database.name} AND l.locktype = 'advisory' AND NOT l.granted
      AND a.pid <> coalesce(${exceptPid ?? null}::int, 0)`)
  return rows.map((row) => Number(row.pid))
}

/**
 * Holds the audit append lock while `use` runs, on a connection of its own:
 * every write that reaches its audit trigger meanwhile waits, mid-transaction.
 * The lock is released (the holding transaction ends) when `use` settles.
 */
export const holdingAuditLock = async <A>(bed: FaultBed, use: (holderPid: number) => Promise<A>): Promise<A> =>
  bed.pool.tx(async (tx) => {
    const [row] = await tx.query(sql`SELECT pg_backend_pid() AS pid, pg_advisory_xact_lock(${auditLockKey}::bigint)`)
    return use(Number(row.pid))
  })

/**
 * Waits until no session but the bed's own is busy in the database: a killed
 * command's session has finished its statement and ended (committed if it
 * was a statement on its own, rolled back if it was inside a transaction).
 */
export const waitForOtherSessionsToSettle = (bed: FaultBed): Promise<void> =>
  waitUntil("the other sessions have settled", async () => {
    const [row] = await bed.pool.query(sql`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = ${bed.database.name} AND backend_type = 'client backend'
        AND application_name <> ${bedApplication} AND state <> 'idle'`)
    return row.n === 0
  })

const mainScript = fileURLToPath(new URL("../../cli/src/main.ts", import.meta.url))

/** A child process of the suite, with how it ended. */
export type Killable = ChildProcess & {
  /** Whether it leads a process group of its own (its children, e.g. engines, are killed with it). */
  readonly group: boolean
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>
}

const spawnNode = (argv: ReadonlyArray<string>, env: Record<string, string>, group: boolean): Killable => {
  const child = spawn(process.execPath, argv, {
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: group
  })
  let stderr = ""
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  child.stdout.resume()
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, stderr }))
  )
  return Object.assign(child, { exited, group })
}

/**
 * The CLI as the very process that holds the database connection (not the
 * bin/ launcher, which would survive a SIGKILL of its child's parent), so a
 * SIGKILL ends it as a crash would.
 */
export const spawnCli = (args: ReadonlyArray<string>, env: Record<string, string>): Killable =>
  spawnNode([mainScript, ...args], env, false)

/**
 * A fixture script (test/fleet/fixtures/) in a process group of its own, so
 * that a SIGKILL (sigkill) takes the processes it started too, the schema
 * engines, as a crash would; `env` is its configuration (see each fixture).
 */
export const spawnFixture = (script: string, env: Record<string, string>): Killable => spawnNode([script], env, true)

/** SIGKILL to the process, or to its whole group when it leads one. */
export const sigkill = (child: Killable): void => {
  if (child.exitCode !== null || child.signalCode !== null) return
  if (!child.group) {
    child.kill("SIGKILL")
    return
  }
  try {
    process.kill(-child.pid!, "SIGKILL")
  } catch (error) {
    // The group is gone already (the process killed itself with it).
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error
  }
}

/** One process-kill case: a command killed while frozen inside an audited write. */
export interface KillCase {
  readonly name: string
  readonly args: ReadonlyArray<string>
  readonly primary?: "old" | "new"
  /** Let the command get this far before freezing it (e.g. some batches committed). */
  readonly after?: (bed: FaultBed) => Promise<boolean>
  /** After the kill and the checks: finish the work (e.g. run the command again), checked again. */
  readonly finish?: (bed: FaultBed) => Promise<void>
}

/**
 * Lets the process get as far as `after` says, then holds the audit lock so
 * that its next audited write waits inside its transaction, SIGKILLs the
 * process (its group, if it leads one) there, and releases the lock. Gives
 * how the process ended.
 */
export const killInsideWrite = async (
  bed: FaultBed,
  name: string,
  child: Killable,
  after?: (bed: FaultBed) => Promise<boolean>
) => {
  // Generous: these only guard against a hang (a fleet run's engines are slow on a busy machine).
  const hang = 60_000
  try {
    if (after !== undefined) await waitUntil(`${name}: the process got far enough`, () => after(bed), hang)
    return await holdingAuditLock(bed, async (holder) => {
      await waitUntil(`${name}: the process waits inside its write`, async () => (await auditLockWaiters(bed, holder)).length > 0, hang)
      sigkill(child)
      return child.exited
    })
  } finally {
    sigkill(child)
  }
}

/** Runs the case's command and kills it inside a write (killInsideWrite). */
export const killDuringWrite = (bed: FaultBed, kill: KillCase) =>
  killInsideWrite(bed, kill.name, spawnCli(kill.args, bed.cliEnv(kill.primary)), kill.after)
