/**
 * What the audit trail costs: `node bench/audit.ts` (exit code 1 when a goal
 * is missed).
 *
 * 1. Tenants.create with the audit trigger vs without it, as a ratio measured
 *    in the same run (goal <= 1.15x). Two scratch databases get the same
 *    migrations; in the second the recording triggers are dropped. The same
 *    service code (with its Actor) creates tenants in both.
 *    - One caller, the headline (a control plane's writes are few and far
 *      between): creates alternate between the two sides, one at a time
 *      (ABBA order), each timed on its own; the ratio is of the median
 *      latencies. Each create ends in a commit that waits for the disk, and
 *      on a shared machine those waits jump from 0.3 to 30 ms with other
 *      people's I/O: medians of many single creates, adjacent in time, see
 *      the same disk, where the means of whole rounds do not. The mean
 *      ratio is printed too.
 *    - Four concurrent callers, in rounds (throughput, no goal): the append
 *      lock, held until each commit, makes writers queue.
 * 2. `audit verify` over 1,000,000 events (goal < 10 s): a third scratch
 *    database is filled through the real append trigger, then
 *    AuditTrail.verify runs three times (median shown), and the CLI's
 *    `control-plane audit verify` once, end to end.
 *
 * Scratch databases are created on the server of DATABASE_URL (default: the
 * local postgres://postgres@127.0.0.1:5432/postgres; the role needs CREATE
 * DATABASE) and dropped at the end.
 *
 *   BENCH_CREATES  single creates per side, one caller (default 2000)
 *   BENCH_ROUNDS   measured rounds with 4 callers (default 12)
 *   BENCH_OPS      creates per side per round, 4 callers (default 200)
 *   BENCH_EVENTS   events for the verify measurement (default 1000000)
 */
import { spawnSync } from "node:child_process"
import { availableParallelism, loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import pg, { sql } from "@databases/pg"
import { Effect, Layer, ManagedRuntime, Redacted, References } from "effect"
import { DatabaseConfig } from "../src/db/DatabaseConfig.ts"
import { Db } from "../src/db/Db.ts"
import { withMigratedDatabases } from "./support/migratedDatabases.ts"
import { Actor } from "../src/services/Actor.ts"
import { AuditTrail } from "../src/services/AuditTrail.ts"
import { Tenants } from "../src/services/Tenants.ts"
import { runBenchmark } from "./support/runBenchmark.ts"
import { median } from "./support/stats.ts"

const CREATE_GOAL = 1.15
const VERIFY_GOAL_SECONDS = 10
const CREATES = Number(process.env["BENCH_CREATES"] ?? 2000)
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 12)
const OPS_PER_ROUND = Number(process.env["BENCH_OPS"] ?? 200)
const EVENTS = Number(process.env["BENCH_EVENTS"] ?? 1_000_000)
const WARM_UP_ROUNDS = 3

const servicesOn = (url: string, poolSize: number) =>
  ManagedRuntime.make(
    Layer.mergeAll(Tenants.layerNoDeps, AuditTrail.layerNoDeps).pipe(
      Layer.provide(Db.layerNoDeps),
      Layer.provide(DatabaseConfig.layerWith({ url: Redacted.make(url), poolSize, statementTimeoutMs: 120_000 })),
      Layer.provideMerge(Layer.succeed(Actor, Actor.of({ name: "bench" }))),
      Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "Warn"))
    )
  )

const runSqlOn = async (url: string, query: ReturnType<typeof sql>) => {
  const pool = pg.default({ connectionString: url, bigIntMode: "bigint", poolSize: 1 })
  try {
    return await pool.query(query)
  } finally {
    await pool.dispose()
  }
}

let created = 0
/** One round: OPS_PER_ROUND creates over `callers` concurrent callers; gives creates per second. */
const createRound = (runtime: ReturnType<typeof servicesOn>, callers: number) => async (): Promise<number> => {
  const perCaller = Math.ceil(OPS_PER_ROUND / callers)
  const start = process.hrtime.bigint()
  await runtime.runPromise(
    Effect.forEach(
      Array.from({ length: callers }, (_, caller) => caller),
      () =>
        Effect.gen(function*() {
          const tenants = yield* Tenants
          for (let i = 0; i < perCaller; i++) yield* tenants.create({ name: `bench-${created++}`, environment: "development" })
        }),
      { concurrency: "unbounded", discard: true }
    )
  )
  return (perCaller * callers) / (Number(process.hrtime.bigint() - start) / 1e9)
}

/** Single creates alternating between the sides (ABBA), each timed; gives each side's latencies in ms. */
const alternateCreates = async (auditedUrl: string, plainUrl: string, count: number) => {
  const audited = servicesOn(auditedUrl, 1)
  const plain = servicesOn(plainUrl, 1)
  try {
    const timedCreate = (runtime: ReturnType<typeof servicesOn>) => async (): Promise<number> => {
      const name = `bench-${created++}`
      const start = process.hrtime.bigint()
      await runtime.runPromise(Tenants.use((tenants) => tenants.create({ name, environment: "development" })))
      return Number(process.hrtime.bigint() - start) / 1e6
    }
    const sides = { audited: timedCreate(audited), plain: timedCreate(plain) }
    for (let i = 0; i < 50; i++) { // warm-up: pools, plans, caches
      await sides.audited()
      await sides.plain()
    }
    const auditedMs: Array<number> = []
    const plainMs: Array<number> = []
    for (let i = 0; i < count; i++) {
      if (i % 4 === 0 || i % 4 === 3) {
        auditedMs.push(await sides.audited())
        plainMs.push(await sides.plain())
      } else {
        plainMs.push(await sides.plain())
        auditedMs.push(await sides.audited())
      }
    }
    const mean = (values: ReadonlyArray<number>) => values.reduce((a, b) => a + b, 0) / values.length
    return {
      audited: median(auditedMs),
      plain: median(plainMs),
      ratio: median(auditedMs) / median(plainMs),
      meanRatio: mean(auditedMs) / mean(plainMs)
    }
  } finally {
    await audited.dispose()
    await plain.dispose()
  }
}

const compareCreates = async (auditedUrl: string, plainUrl: string, callers: number) => {
  const audited = servicesOn(auditedUrl, callers)
  const plain = servicesOn(plainUrl, callers)
  try {
    const sides = { audited: createRound(audited, callers), plain: createRound(plain, callers) }
    for (let round = 0; round < WARM_UP_ROUNDS; round++) {
      await sides.audited()
      await sides.plain()
    }
    const auditedRates: Array<number> = []
    const plainRates: Array<number> = []
    const ratios: Array<number> = []
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which side goes first, so drift in load hits both alike.
      const auditedFirst = round % 2 === 0
      const a = auditedFirst ? await sides.audited() : await sides.plain()
      const b = auditedFirst ? await sides.plain() : await sides.audited()
      const [auditedRate, plainRate] = auditedFirst ? [a, b] : [b, a]
      auditedRates.push(auditedRate)
      plainRates.push(plainRate)
      ratios.push(plainRate / auditedRate)
    }
    return { audited: median(auditedRates), plain: median(plainRates), ratio: median(ratios) }
  } finally {
    await audited.dispose()
    await plain.dispose()
  }
}

/** Appends `count` events through the real append trigger, 100,000 per statement. */
const fillEvents = async (url: string, count: number): Promise<number> => {
  const pool = pg.default({ connectionString: url, bigIntMode: "bigint", poolSize: 1 })
  const start = process.hrtime.bigint()
  try {
    for (let done = 0; done < count; done += 100_000) {
      const batch = Math.min(100_000, count - done)
      await pool.tx(async (tx) => {
        await tx.query(sql`SELECT set_config('control_plane.actor', 'bench-filler', true)`)
        await tx.query(sql`
          INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id, changes)
          SELECT 'update', 'tenant', t::text, t,
                 jsonb_build_object('status', jsonb_build_object('old', 'active', 'new', 'suspended'), 'n', g)
          FROM generate_series(1, ${batch}::int) AS g, gen_random_uuid() AS t`)
      })
    }
    await pool.query(sql`VACUUM ANALYZE control_plane.audit_events`)
  } finally {
    await pool.dispose()
  }
  return Number(process.hrtime.bigint() - start) / 1e9
}

const measureVerify = async (url: string) => {
  const runtime = servicesOn(url, 1)
  try {
    const seconds: Array<number> = []
    let events = 0
    for (let run = 0; run < 3; run++) {
      const start = process.hrtime.bigint()
      const report = await runtime.runPromise(AuditTrail.use((trail) => trail.verify()))
      seconds.push(Number(process.hrtime.bigint() - start) / 1e9)
      events = report.events
    }
    return { events, seconds }
  } finally {
    await runtime.dispose()
  }
}

/** `control-plane audit verify` as an operator runs it: process start, layers, the check, the line printed. */
const cliVerify = (url: string): { readonly seconds: number; readonly output: string; readonly code: number | null } => {
  const start = process.hrtime.bigint()
  const child = spawnSync(process.execPath, [fileURLToPath(new URL("../cli/src/main.ts", import.meta.url)), "audit", "verify"], {
    env: { ...process.env, DATABASE_URL: url, CONTROL_PLANE_STATEMENT_TIMEOUT_MS: "120000" },
    encoding: "utf8"
  })
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, output: (child.stdout || child.stderr).trim(), code: child.status }
}

const main = async (): Promise<boolean> => {
  return withMigratedDatabases(["cp_bench_audited", "cp_bench_plain", "cp_bench_verify"], async (urls) => {
    const [auditedDb, plainDb, verifyDb] = urls.map((url) => ({ url })) as [{ url: string }, { url: string }, { url: string }]
    // The same schema without the recording triggers: what create cost before the audit trail.
    await runSqlOn(plainDb.url, sql`
      DROP TRIGGER audit_tenants ON control_plane.tenants;
      DROP TRIGGER audit_tenants_truncate ON control_plane.tenants;
      DROP TRIGGER audit_tenant_databases ON control_plane.tenant_databases;
      DROP TRIGGER audit_tenant_databases_truncate ON control_plane.tenant_databases;
      DROP TRIGGER audit_system_config ON control_plane.system_config;
      DROP TRIGGER audit_system_config_truncate ON control_plane.system_config;
      DROP TRIGGER audit_database_servers ON control_plane.database_servers;
      DROP TRIGGER audit_database_servers_truncate ON control_plane.database_servers;
      DROP TRIGGER audit_fleet_runs ON control_plane.fleet_runs;
      DROP TRIGGER audit_fleet_runs_truncate ON control_plane.fleet_runs`)

    // The machine is shared: the load says how much the latencies below were stretched.
    const load = () => loadavg().map((l) => l.toFixed(1)).join(" ")
    const loadBefore = load()
    const one = await alternateCreates(auditedDb.url, plainDb.url, CREATES)
    console.log(`load average ${loadBefore} before, ${load()} after (1, 5, 15 min; ${availableParallelism()} cores)`)
    console.log(
      `Tenants.create with the audit trigger: ${one.audited.toFixed(3)} ms, without: ${one.plain.toFixed(3)} ms ` +
        `(+${Math.round((one.audited - one.plain) * 1000)} µs), ` +
        `ratio ${one.ratio.toFixed(2)}x (goal <= ${CREATE_GOAL.toFixed(2)}x) [1 caller, ${CREATES} creates each, alternating, median latency; ` +
        `ratio of the means ${one.meanRatio.toFixed(2)}x]`
    )
    const four = await compareCreates(auditedDb.url, plainDb.url, 4)
    console.log(
      `  with 4 concurrent callers: ${Math.round(four.audited)} vs ${Math.round(four.plain)} creates/s, ratio ${four.ratio.toFixed(2)}x ` +
        `(appends queue on the chain's lock until each commit; no goal) [${ROUNDS} rounds of ${OPS_PER_ROUND}, median]`
    )

    const fillSeconds = await fillEvents(verifyDb.url, EVENTS)
    console.log(`filled ${EVENTS} events through the append trigger in ${fillSeconds.toFixed(1)} s (${Math.round(EVENTS / fillSeconds)} events/s)`)
    const verify = await measureVerify(verifyDb.url)
    const verifySeconds = median(verify.seconds)
    console.log(
      `AuditTrail.verify over ${verify.events} events: ${verifySeconds.toFixed(2)} s (median of ${verify.seconds.map((s) => s.toFixed(2)).join(", ")}), ` +
        `${Math.round(verify.events / verifySeconds)} events/s (goal < ${VERIFY_GOAL_SECONDS} s)`
    )
    const cli = cliVerify(verifyDb.url)
    console.log(`control-plane audit verify, end to end: ${cli.seconds.toFixed(2)} s, exit ${cli.code}: ${cli.output.slice(0, 60)}...`)
    return one.ratio <= CREATE_GOAL && verify.events === EVENTS && verifySeconds < VERIFY_GOAL_SECONDS &&
      cli.code === 0 && cli.seconds < VERIFY_GOAL_SECONDS
  })
}

runBenchmark(main)
