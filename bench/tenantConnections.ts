/**
 * TenantConnections against its baselines, measured in the same run:
 * `node bench/tenantConnections.ts` (exit code 1 when a goal is missed).
 *
 *   1. resolve: a cached `resolve(name)` against the uncached lookup it
 *      saves (the same query through the same Db service). Goal >= 50x.
 *   2. withTenant(name, db => SELECT 1) on a warm pool against the same
 *      `SELECT 1` on a bare @databases/pg pool to the same database, of the
 *      same size, with the same number of concurrent callers. Goal <= 1.10x.
 *      The bare pool is the very pool withTenant uses (seen through
 *      TenantPoolFactory), its `pool.query` awaited in plain async code: two
 *      pools to the same database, made alike, came out 0.91x to 1.28x of each
 *      other on this machine, one of them faster through a whole run, so a
 *      second pool would partly compare connections, not the layer. Two reference lines:
 *      the floor for any Effect API (the same pool.query wrapped in an
 *      `Effect.callback`, run by the same runtime in the same way), and a
 *      second bare pool made alike (how far two pools differ in this run).
 *      The four run in the same rounds, in rotating order.
 *   3. invalidation latency on loopback: from sending an UPDATE of a
 *      tenant's status in another session until `resolve` in this process
 *      reports the new status (p50, p99 over many changes). Goal p99 < 100 ms.
 *      The baseline printed beside it is the UPDATE's own round trip.
 *
 * Method (as bench/tenantLookup.ts): after a warm-up, the sides of 1 and 2
 * run in many short rounds, back to back, in rotating order; a ratio is the
 * median of the per-round ratios (all sides of a round see the same load on
 * this shared machine). Each side is timed in wall-clock time (what a
 * caller waits) and in CPU time of this process (what the layer adds, which
 * load elsewhere disturbs less); the goal is judged on wall-clock time, the
 * CPU line shows the overhead itself.
 *
 * It creates a scratch control-plane database and a tenant database on the
 * server of DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres;
 * the role needs CREATE DATABASE) and drops both at the end.
 *
 *   BENCH_ROUNDS       measured rounds of 1 and 2 (default 40)
 *   BENCH_CONCURRENCY  concurrent callers in 2, and the pools' size (default 4)
 *   BENCH_CHANGES      status changes timed in 3 (default 200)
 */
import { randomBytes } from "node:crypto"
import { loadavg } from "node:os"
import pg, { sql } from "@databases/pg"
import type { ConnectionPool } from "@databases/pg"
import { ConfigProvider, Effect, Layer, ManagedRuntime } from "effect"
import * as ControlPlane from "../src/ControlPlane.ts"
import { ConnectionStringCrypto } from "../src/crypto/ConnectionStringCrypto.ts"
import { Db } from "../src/db/Db.ts"
import { withMigratedDatabases } from "./support/migratedDatabases.ts"
import { TenantConnections } from "../src/services/TenantConnections.ts"
import { lookupTenant } from "../src/services/TenantConnections/lookup.ts"
import { recordingPoolFactory, registerTenants } from "../test/support/tenantFleet.ts"
import { runBenchmark } from "./support/runBenchmark.ts"
import { median, percentile } from "./support/stats.ts"

const RESOLVE_GOAL = 50
const QUERY_GOAL = 1.1
const LATENCY_GOAL_MS = 100
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 40)
const CONCURRENCY = Number(process.env["BENCH_CONCURRENCY"] ?? 4)
const CHANGES = Number(process.env["BENCH_CHANGES"] ?? 200)
const WARM_UP_ROUNDS = 5
const RESOLVES_PER_ROUND = 20_000
const LOOKUPS_PER_ROUND = 200
const QUERIES_PER_ROUND = 1_000

interface Timing {
  /** Wall-clock microseconds per operation. */
  readonly wall: number
  /** This process's CPU microseconds (user + system) per operation. */
  readonly cpu: number
}

const timed = async (ops: number, run: () => Promise<unknown>): Promise<Timing> => {
  const cpuBefore = process.cpuUsage()
  const start = process.hrtime.bigint()
  await run()
  const wall = Number(process.hrtime.bigint() - start) / 1e3 / ops
  const cpu = process.cpuUsage(cpuBefore)
  return { wall, cpu: (cpu.user + cpu.system) / ops }
}

interface Compared {
  /** Median wall-clock and CPU microseconds per operation. */
  readonly wall: number
  readonly cpu: number
  /** Medians of the per-round ratios against the baseline (the first side). */
  readonly wallRatio: number
  readonly cpuRatio: number
}

/**
 * Runs the sides for the warm-up and ROUNDS rounds, each round in a rotated
 * order (so no side is always first or last); each side's medians and its
 * median per-round ratio against `sides[0]`, the baseline.
 */
const interleaved = async (sides: ReadonlyArray<() => Promise<Timing>>): Promise<Array<Compared>> => {
  const timings: Array<Array<Timing>> = sides.map(() => [])
  for (let round = 0; round < WARM_UP_ROUNDS + ROUNDS; round++) {
    for (let k = 0; k < sides.length; k++) {
      const side = (round + k) % sides.length
      const timing = await sides[side]!()
      if (round >= WARM_UP_ROUNDS) timings[side]!.push(timing)
    }
  }
  const baseline = timings[0]!
  return timings.map((ts) => ({
    wall: median(ts.map((t) => t.wall)),
    cpu: median(ts.map((t) => t.cpu)),
    wallRatio: median(ts.map((t, i) => t.wall / baseline[i]!.wall)),
    cpuRatio: median(ts.map((t, i) => t.cpu / baseline[i]!.cpu))
  }))
}

const fmt = (micros: number): string => (micros >= 100 ? micros.toFixed(0) : micros.toFixed(2))

/** A database's name, from its URL. */
const nameOf = (url: string): string => decodeURIComponent(new URL(url).pathname.slice(1))

const main = (): Promise<boolean> =>
  withMigratedDatabases(["cp_bench_tc", "cp_bench_tc_tenant"], async ([controlPlaneUrl, tenantUrl]) => {
  const controlPlane = { url: controlPlaneUrl!, name: nameOf(controlPlaneUrl!) }
  const tenantDb = { url: tenantUrl!, name: nameOf(tenantUrl!) }
  const env = {
    DATABASE_URL: controlPlane.url,
    CONTROL_PLANE_ENCRYPTION_KEYS: `bench:${randomBytes(32).toString("base64")}`,
    CONTROL_PLANE_PRIMARY_KEY_ID: "bench",
    CONTROL_PLANE_POOL_SIZE: String(CONCURRENCY),
    CONTROL_PLANE_TENANT_POOL_MAX: String(CONCURRENCY),
    CONTROL_PLANE_RESOLVE_TTL_MS: "3600000"
  }
  // The tenant pools withTenant makes, as made (the driver's own constructor).
  const { made: tenantPools, layer: recordingPools } = recordingPoolFactory()
  const runtime = ManagedRuntime.make(
    ControlPlane.layer.pipe(Layer.provide(Layer.merge(ConfigProvider.layer(ConfigProvider.fromUnknown(env)), recordingPools)))
  )
  const secondPool = pg.default({ connectionString: tenantDb.url, bigIntMode: "bigint", poolSize: CONCURRENCY, idleTimeoutMilliseconds: 0 })
  const admin = pg.default({ connectionString: controlPlane.url, bigIntMode: "bigint", poolSize: 1 })
  try {
    const crypto = await runtime.runPromise(ConnectionStringCrypto.useSync((service) => service))
    const tenants = await registerTenants(controlPlane.url, crypto, "bench", [{ name: tenantDb.name, url: tenantDb.url }])
    const tenant = tenants[0]!
    const connections = await runtime.runPromise(TenantConnections.useSync((service) => service))
    const db = await runtime.runPromise(Db.useSync((service) => service))

    // Warm: the listener is up (the cache serves) and the tenant's pool is open.
    await runtime.runPromise(connections.withTenant(tenant.name, (tdb) => tdb.query(sql`SELECT 1`)))
    while (!(await runtime.runPromise(connections.stats())).listening) await new Promise((r) => setTimeout(r, 10))
    await runtime.runPromise(connections.resolve(tenant.name))
    if (tenantPools.length !== 1) throw new Error(`expected one tenant pool, found ${tenantPools.length}`)
    const bare = tenantPools[0]!.pool

    // 1. cached resolve against the uncached lookup.
    const resolveCached = () =>
      timed(RESOLVES_PER_ROUND, () =>
        runtime.runPromise(Effect.gen(function*() {
          for (let i = 0; i < RESOLVES_PER_ROUND; i++) yield* connections.resolve(tenant.name)
        })))
    const resolveUncached = () =>
      timed(LOOKUPS_PER_ROUND, () =>
        runtime.runPromise(Effect.gen(function*() {
          for (let i = 0; i < LOOKUPS_PER_ROUND; i++) yield* lookupTenant(db, tenant.name)
        })))
    const [cached, uncached] = await interleaved([resolveCached, resolveUncached])
    const resolve = { a: cached!, b: uncached! }
    const hits = (await runtime.runPromise(connections.stats())).resolutions
    if (hits.misses > 2) throw new Error(`the cached side missed ${hits.misses} times: the bench would measure the database`)

    // 2. withTenant + SELECT 1 against a bare pool, CONCURRENCY callers each.
    const perCaller = Math.ceil(QUERIES_PER_ROUND / CONCURRENCY)
    const callers = Array.from({ length: CONCURRENCY }, (_, i) => i)
    const viaService = () =>
      timed(perCaller * CONCURRENCY, () =>
        runtime.runPromise(Effect.forEach(callers, () =>
          Effect.gen(function*() {
            for (let i = 0; i < perCaller; i++) yield* connections.withTenant(tenant.name, (tdb) => tdb.query(sql`SELECT 1`))
          }), { concurrency: "unbounded", discard: true })))
    const plainAsync = (pool: ConnectionPool) => () =>
      timed(perCaller * CONCURRENCY, () =>
        Promise.all(callers.map(async () => {
          for (let i = 0; i < perCaller; i++) await pool.query(sql`SELECT 1`)
        })))
    // The floor for any Effect API: the same pool.query in an Effect.callback, run as viaService is.
    const viaEffect = () =>
      timed(perCaller * CONCURRENCY, () =>
        runtime.runPromise(Effect.forEach(callers, () =>
          Effect.gen(function*() {
            for (let i = 0; i < perCaller; i++) {
              yield* Effect.callback<unknown>((resume) => {
                bare.query(sql`SELECT 1`).then((rows) => resume(Effect.succeed(rows)), (error) => resume(Effect.die(error)))
              })
            }
          }), { concurrency: "unbounded", discard: true })))
    const [barePool, service, effectFloor, anotherPool] = await interleaved([plainAsync(bare), viaService, viaEffect, plainAsync(secondPool)])
    const query = { a: barePool!, b: service!, wallRatio: service!.wallRatio, cpuRatio: service!.cpuRatio }
    const floor = effectFloor!
    if (tenantPools.length !== 1) throw new Error("withTenant made another pool during the bench: the bare side timed an old one")

    // 3. invalidation latency: UPDATE in another session until resolve sees it.
    const latencies: Array<number> = []
    const roundTrips: Array<number> = []
    let status: "active" | "suspended" = "active"
    for (let i = 0; i < CHANGES; i++) {
      status = status === "active" ? "suspended" : "active"
      await runtime.runPromise(connections.resolve(tenant.name)) // cached again before the change
      const sent = performance.now()
      await admin.query(sql`UPDATE control_plane.tenants SET status = ${status} WHERE tenant_id = ${tenant.tenantId}`)
      roundTrips.push(performance.now() - sent)
      while ((await runtime.runPromise(connections.resolve(tenant.name))).status !== status) {
        await new Promise((r) => setImmediate(r))
      }
      latencies.push(performance.now() - sent)
    }
    const p50 = percentile(latencies, 0.5)
    const p99 = percentile(latencies, 0.99)

    const resolveRatio = resolve.b.wall / resolve.a.wall
    console.log(
      `cached resolve: ${fmt(resolve.a.wall)} µs, uncached lookup: ${fmt(resolve.b.wall)} µs, ` +
        `ratio ${resolve.b.wallRatio.toFixed(0)}x (goal >= ${RESOLVE_GOAL}x) [wall clock, median of ${ROUNDS} interleaved rounds; ` +
        `CPU ${fmt(resolve.a.cpu)} vs ${fmt(resolve.b.cpu)} µs, ${resolve.b.cpuRatio.toFixed(0)}x]`
    )
    console.log(
      `withTenant + SELECT 1: ${fmt(query.b.wall)} µs, the same pool's bare pool.query: ${fmt(query.a.wall)} µs, ` +
        `ratio ${query.wallRatio.toFixed(2)}x (goal <= ${QUERY_GOAL.toFixed(2)}x) [wall clock, ${CONCURRENCY} callers, ` +
        `pools of ${CONCURRENCY}, median of ${ROUNDS} interleaved rounds]`
    )
    console.log(
      `  CPU of this process per query: withTenant ${fmt(query.b.cpu)} µs, bare pool ${fmt(query.a.cpu)} µs ` +
        `(${query.cpuRatio.toFixed(2)}x)`
    )
    console.log(
      `  floor for any Effect API: the bare pool.query in an Effect.callback, run the same way: ` +
        `${floor.wallRatio.toFixed(2)}x wall, ${floor.cpuRatio.toFixed(2)}x CPU of pool.query awaited in async code`
    )
    console.log(
      `  a second bare pool made alike, in plain async code: ${anotherPool!.wallRatio.toFixed(2)}x wall, ` +
        `${anotherPool!.cpuRatio.toFixed(2)}x CPU of the first (how far two pools' connections differ in this run)`
    )
    console.log(
      `invalidation latency: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (goal p99 < ${LATENCY_GOAL_MS} ms) ` +
        `[${CHANGES} changes on loopback; the UPDATE's own round trip: p50 ${percentile(roundTrips, 0.5).toFixed(2)} ms, ` +
        `p99 ${percentile(roundTrips, 0.99).toFixed(2)} ms]`
    )
    console.log(`load averages (1, 5, 15 min) at the end: ${loadavg().map((load) => load.toFixed(2)).join(", ")}`)
    return resolve.b.wallRatio >= RESOLVE_GOAL && query.wallRatio <= QUERY_GOAL && p99 < LATENCY_GOAL_MS && resolveRatio > 0
  } finally {
    await runtime.dispose()
    await secondPool.dispose()
    await admin.dispose()
  }
  })

runBenchmark(main)
