/**
 * What looking a tenant up by name through the Tenants service costs over the
 * same query on a bare @databases/pg pool: `node bench/tenantLookup.ts`
 * (exit code 1 when the goal, service <= 1.10x the bare time, is missed).
 *
 * It creates a scratch database on the server of DATABASE_URL (default: the
 * local postgres://postgres@127.0.0.1:5432/postgres; the role needs CREATE
 * DATABASE), migrates it, seeds tenants, and drops it at the end.
 *
 * Both sides run the same statement on a pool of the same size with the same
 * number of concurrent callers, cycling through the same names. The service
 * side runs `yield* tenants.findByName(name)` inside one Effect program, as a
 * caller does (decoding the name, mapping the row to a Tenant, tracing span
 * included); the bare side awaits `pool.query(...)` and takes the raw row.
 *
 * The machine is shared and noisy, so after a warm-up the two sides run in
 * many short rounds, back to back, each round starting with the other side.
 * The ratio is the median of the per-round ratios (the two halves of a round
 * see the same load); the ops/s shown are each side's median round. A second
 * line gives this process's CPU time per lookup, which load elsewhere on the
 * machine disturbs less than wall-clock time.
 *
 *   BENCH_CONCURRENCY  concurrent callers, and pool size (default 4)
 *   BENCH_ROUNDS       measured rounds (default 60)
 *   BENCH_OPS          lookups per side per round (default 1000)
 */
import pg, { sql } from "@databases/pg"
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import { DatabaseConfig } from "../src/db/DatabaseConfig.ts"
import { Db } from "../src/db/Db.ts"
import { Tenants } from "../src/services/Tenants.ts"
import { withMigratedDatabases } from "./support/migratedDatabases.ts"
import { runBenchmark } from "./support/runBenchmark.ts"
import { median } from "./support/stats.ts"

const GOAL = 1.10
const CONCURRENCY = Number(process.env["BENCH_CONCURRENCY"] ?? 4)
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 60)
const OPS_PER_ROUND = Number(process.env["BENCH_OPS"] ?? 1000)
const WARM_UP_ROUNDS = 5
const TENANTS = 1000

const environments = ["development", "staging", "production"] as const
const names = Array.from({ length: TENANTS }, (_, i) => `bench-tenant-${String(i).padStart(4, "0")}`)

/** One round of OPS_PER_ROUND lookups across CONCURRENCY callers. */
interface RoundResult {
  readonly opsPerSecond: number
  /** This process's CPU time (user + system) per lookup, in microseconds. */
  readonly cpuMicros: number
}
type Round = () => Promise<RoundResult>

const timed = async (run: () => Promise<void>): Promise<RoundResult> => {
  const cpuBefore = process.cpuUsage()
  const start = process.hrtime.bigint()
  await run()
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const cpu = process.cpuUsage(cpuBefore)
  return { opsPerSecond: OPS_PER_ROUND / seconds, cpuMicros: (cpu.user + cpu.system) / OPS_PER_ROUND }
}

const callers = Array.from({ length: CONCURRENCY }, (_, caller) => caller)
const perCaller = Math.ceil(OPS_PER_ROUND / CONCURRENCY)
const nameFor = (caller: number, i: number): string => names[(caller * perCaller + i) % names.length]!

const seed = async (url: string): Promise<void> => {
  const pool = pg.default({ connectionString: url, bigIntMode: "bigint", poolSize: 1 })
  try {
    await pool.query(sql`
      INSERT INTO control_plane.tenants (name, environment, status)
      SELECT name, (${environments} :: control_plane.tenant_environment[])[1 + ordinality % 3], 'pending'
      FROM unnest(${names} :: text[]) WITH ORDINALITY AS t(name, ordinality)`)
  } finally {
    await pool.dispose()
  }
}

const measure = async (url: string) => {
  const settings = { url: Redacted.make(url), poolSize: CONCURRENCY }
  const runtime = ManagedRuntime.make(
    Tenants.layerNoDeps.pipe(Layer.provide(Db.layerNoDeps), Layer.provide(DatabaseConfig.layerWith(settings)))
  )
  const bare = pg.default({
    connectionString: url,
    bigIntMode: "bigint",
    poolSize: CONCURRENCY,
    statementTimeoutMilliseconds: 30_000,
    connectionTimeoutMilliseconds: 10_000,
    queueTimeoutMilliseconds: 60_000
  })
  try {
    const tenants = await runtime.runPromise(Tenants.useSync((service) => service))
    const service: Round = () =>
      timed(() =>
        runtime.runPromise(
          Effect.forEach(
            callers,
            (caller) =>
              Effect.gen(function*() {
                for (let i = 0; i < perCaller; i++) yield* tenants.findByName(nameFor(caller, i))
              }),
            { concurrency: "unbounded", discard: true }
          )
        )
      )
    const barePool: Round = () =>
      timed(async () => {
        await Promise.all(
          callers.map(async (caller) => {
            for (let i = 0; i < perCaller; i++) {
              await bare.query(sql`SELECT * FROM control_plane.tenants WHERE name = ${nameFor(caller, i)}`)
            }
          })
        )
      })

    for (let round = 0; round < WARM_UP_ROUNDS; round++) {
      await service()
      await barePool()
    }
    const service_: Array<RoundResult> = []
    const bare_: Array<RoundResult> = []
    const ratios: Array<number> = []
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which side goes first, so drift in load hits both alike.
      const [first, second] = round % 2 === 0 ? [service, barePool] : [barePool, service]
      const a = await first()
      const b = await second()
      const [serviceRound, bareRound] = round % 2 === 0 ? [a, b] : [b, a]
      service_.push(serviceRound)
      bare_.push(bareRound)
      ratios.push(bareRound.opsPerSecond / serviceRound.opsPerSecond)
    }
    return {
      service: median(service_.map((r) => r.opsPerSecond)),
      bare: median(bare_.map((r) => r.opsPerSecond)),
      ratio: median(ratios),
      serviceCpu: median(service_.map((r) => r.cpuMicros)),
      bareCpu: median(bare_.map((r) => r.cpuMicros))
    }
  } finally {
    await runtime.dispose()
    await bare.dispose()
  }
}

const main = async (): Promise<boolean> => {
  return withMigratedDatabases(["cp_bench"], async ([migrated]) => {
    const url = migrated!
    await seed(url)
    const { service, bare, ratio, serviceCpu, bareCpu } = await measure(url)
    console.log(
      `tenant lookup by name: service ${Math.round(service)} ops/s, bare pool ${Math.round(bare)} ops/s, ` +
        `ratio ${ratio.toFixed(2)}x (goal <= ${GOAL.toFixed(2)}x) ` +
        `[${CONCURRENCY} callers, pool ${CONCURRENCY}, ${ROUNDS} rounds of ${OPS_PER_ROUND}, median]`
    )
    console.log(
      `CPU of this process per lookup: service ${serviceCpu.toFixed(1)} µs, bare pool ${bareCpu.toFixed(1)} µs ` +
        `(${(serviceCpu / bareCpu).toFixed(2)}x)`
    )
    return ratio <= GOAL
  })
}

runBenchmark(main)
