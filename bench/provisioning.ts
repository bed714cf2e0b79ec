/**
 * How long provisioning takes a tenant from nothing to active on the local
 * server (`node bench/provisioning.ts`; exit code 1 when the goal, p95 < 3 s,
 * is missed):
 *
 *   - provision → active: Provisioning.provision for BENCH_TENANTS tenants
 *     (default 20), one after the other, each timed from the call to the
 *     tenant being active (tenant, placement, role and database, encrypted
 *     connection string, the template's migrations, seeds, activation);
 *   - the floor, in the same run and on the same server: the server's own
 *     part done bare (CREATE ROLE, CREATE DATABASE ... OWNER, REVOKE CONNECT),
 *     so the ratio shows what the rest costs on top;
 *   - deprovision, for the record.
 *
 * It makes a scratch control plane on the server of DATABASE_URL (default:
 * the local postgres://postgres@127.0.0.1:5432/postgres, a superuser, which
 * is also registered as the database server), and drops every database and
 * role it created at the end.
 */
import { randomBytes } from "node:crypto"
import pg, { sql } from "@databases/pg"
import { Effect, Layer, ManagedRuntime, Redacted, References, Result } from "effect"
import { ConnectionStringCrypto } from "../src/crypto/ConnectionStringCrypto.ts"
import { KeyRing } from "../src/crypto/KeyRing.ts"
import { DatabaseConfig } from "../src/db/DatabaseConfig.ts"
import { Db } from "../src/db/Db.ts"
import * as ControlPlane from "../src/ControlPlane.ts"
import { Actor } from "../src/services/Actor.ts"
import { DatabaseServers } from "../src/services/DatabaseServers.ts"
import { dropByPrefix, serverUrl, withMigratedDatabases } from "./support/migratedDatabases.ts"
import { ControlPlaneLocks } from "../cli/src/fleet/advisoryLock.ts"
import { ConnectionBudget } from "../cli/src/fleet/ConnectionBudget.ts"
import { Provisioning } from "../cli/src/fleet/Provisioning.ts"
import { TenantSchema } from "../cli/src/fleet/TenantSchema.ts"
import { runBenchmark } from "./support/runBenchmark.ts"
import { percentile } from "./support/stats.ts"

const GOAL_P95_MS = 3_000
const TENANTS = Number(process.env["BENCH_TENANTS"] ?? 20)
const prefix = `bp${randomBytes(4).toString("hex")}_`

const describe = (values: ReadonlyArray<number>): string =>
  `p50 ${percentile(values, 0.5).toFixed(0)} ms, p95 ${percentile(values, 0.95).toFixed(0)} ms, max ${Math.max(...values).toFixed(0)} ms`

const msSince = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6

/** The server's own part of provisioning, bare: role, database, CONNECT revoked; then dropped again. */
const bareFloor = async (): Promise<ReadonlyArray<number>> => {
  const pool = pg.default({ connectionString: serverUrl, bigIntMode: "bigint", poolSize: 1 })
  const times: Array<number> = []
  try {
    for (let i = 0; i < TENANTS; i++) {
      const name = `${prefix}floor_${i}`
      const start = process.hrtime.bigint()
      await pool.query(sql`CREATE ROLE ${sql.ident(name)} LOGIN`)
      await pool.query(sql`CREATE DATABASE ${sql.ident(name)} OWNER ${sql.ident(name)}`)
      await pool.query(sql`REVOKE CONNECT ON DATABASE ${sql.ident(name)} FROM PUBLIC`)
      times.push(msSince(start))
    }
  } finally {
    await pool.dispose()
  }
  return times
}

const main = (): Promise<boolean> =>
  withMigratedDatabases(["cp_bench_provisioning"], async ([controlPlaneUrl]) => {
  try {
    const ring = Result.getOrThrow(KeyRing.make([{ id: "bench" as never, material: Redacted.make(new Uint8Array(randomBytes(32))) }], "bench"))
    const config = DatabaseConfig.layerWith({ url: Redacted.make(controlPlaneUrl!), poolSize: 4 })
    const runtime = ManagedRuntime.make(
      Provisioning.layerNoDeps.pipe(
        // The services log each step at Info: keep the report readable.
        Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "Warn")),
        // Who acts, for the audit trail.
        Layer.provideMerge(Actor.layer("bench/provisioning.ts")),
        Layer.provideMerge(
          Layer.mergeAll(TenantSchema.layer, ConnectionBudget.layerOf(8), ControlPlaneLocks.layerNoDeps.pipe(Layer.provide(config)))
        ),
        Layer.provideMerge(
          ControlPlane.layerNoDeps.pipe(
            Layer.provideMerge(
              Layer.merge(
                Db.layerNoDeps.pipe(Layer.provide(config)),
                Layer.succeed(ConnectionStringCrypto, ConnectionStringCrypto.fromKeyRing(ring))
              )
            )
          )
        )
      )
    )
    try {
      await runtime.runPromise(Effect.flatMap(DatabaseServers, (servers) =>
        servers.add({
          name: "local",
          host: new URL(serverUrl).hostname,
          port: Number(new URL(serverUrl).port || 5432),
          adminConnectionString: Redacted.make(serverUrl),
          maxDatabases: TENANTS + 1
        })))
      const floor = await bareFloor()
      const provisioned: Array<string> = []
      const provisionTimes: Array<number> = []
      for (let i = 0; i < TENANTS; i++) {
        const start = process.hrtime.bigint()
        const result = await runtime.runPromise(Effect.flatMap(Provisioning, (p) =>
          p.provision({ name: `bench-tenant-${i}`, environment: "production", namePrefix: prefix })))
        provisionTimes.push(msSince(start))
        if (result.tenant.status !== "active") throw new Error(`tenant ${i} is ${result.tenant.status}, not active`)
        provisioned.push(result.tenant.tenantId)
      }
      const deprovisionTimes: Array<number> = []
      for (const tenantId of provisioned) {
        const start = process.hrtime.bigint()
        await runtime.runPromise(Effect.flatMap(Provisioning, (p) => p.deprovision(tenantId)))
        deprovisionTimes.push(msSince(start))
      }
      const p95 = percentile(provisionTimes, 0.95)
      const met = p95 < GOAL_P95_MS
      console.log(`provisioning, ${TENANTS} tenants one after another on ${new URL(serverUrl).host}:`)
      console.log(`  provision -> active:        ${describe(provisionTimes)}`)
      console.log(`  bare role + database floor: ${describe(floor)}`)
      console.log(`  deprovision:                ${describe(deprovisionTimes)}`)
      console.log(
        `  p95 provision -> active ${p95.toFixed(0)} ms = ${(p95 / percentile(floor, 0.95)).toFixed(2)}x the bare floor's p95; ` +
          `goal < ${GOAL_P95_MS} ms: ${met ? "met" : "MISSED"}`
      )
      return met
    } finally {
      await runtime.dispose()
    }
  } finally {
    await dropByPrefix(prefix)
  }
  })

runBenchmark(main)
