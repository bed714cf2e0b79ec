/**
 * Fault injection at every provisioning step, against the real PostgreSQL:
 *
 * - the process killed (SIGKILL) as each step starts and as each step's work
 *   is done but not yet recorded: a child process provisions and kills itself
 *   there (fixtures/provisionUntil.ts);
 * - the server refusing: the tenant's server (its admin and tenant
 *   connections) or the control plane, each behind an in-process TCP proxy
 *   (test/faults/proxy.ts) that cuts open connections and refuses new ones
 *   from the start of a step.
 *
 * After each fault: no tenant exists without its provisioning record, a
 * failed step is recorded with a one-line reason (and the database is
 * `error` once registered), and running provisioning again finishes it.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { assert, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { DatabaseServers } from "../../src/services/DatabaseServers.ts"
import { sql } from "../../src/db/Db.ts"
import { type ProvisioningStep, provisioningSteps } from "../../src/domain/enums.ts"
import { Provisioning } from "../../cli/src/fleet/Provisioning.ts"
import { TcpProxy } from "../faults/proxy.ts"
import { adminUrl } from "../support/testDatabase.ts"
import { adminUrlVia, controlPlaneRows, Fixture, provisioningOn, tenantName, tenantsWithoutRecord } from "./support.ts"

const fixture = fileURLToPath(new URL("./fixtures/provisionUntil.ts", import.meta.url))

/** Runs the fixture until it kills itself at `killAt`; gives how it ended. */
const provisionUntil = (env: Record<string, string>, tenant: string, prefix: string, killAt: string) =>
  new Promise<{ signal: NodeJS.Signals | null; code: number | null }>((resolve, reject) => {
    const child = spawn(process.execPath, [fixture], {
      env: { ...process.env, ...env, FIXTURE_TENANT: tenant, FIXTURE_PREFIX: prefix, FIXTURE_KILL_AT: killAt },
      stdio: "ignore"
    })
    child.on("error", reject)
    child.on("exit", (code, signal) => resolve({ code, signal }))
  })

interface RecordRow {
  readonly step: string
  readonly failed_step: string | null
  readonly error: string | null
  readonly attempts: number
  readonly database_status: string | null
}

const recordOf = (url: string, name: string) =>
  Effect.promise(() =>
    controlPlaneRows<RecordRow>(
      url,
      sql`SELECT p.step, p.failed_step, p.error, p.attempts, d.status::text AS database_status
          FROM control_plane.tenants t
          JOIN control_plane.tenant_provisioning p USING (tenant_id)
          LEFT JOIN control_plane.tenant_databases d ON d.id = p.database_id
          WHERE t.name = ${name}`
    )
  ).pipe(Effect.map((rows) => rows[0]))

/** Provisions `name` to the end and checks the tenant and its database are active. */
const finish = (name: string, prefix: string, server?: string) =>
  Effect.gen(function*() {
    const result = yield* (yield* Provisioning).provision({
      name,
      environment: "development",
      namePrefix: prefix,
      ...(server === undefined ? {} : { server })
    })
    assert.strictEqual(result.tenant.status, "active")
    assert.strictEqual(result.database.status, "active")
    return result
  })

/** Every step event, in order: [step, phase]. */
const events = provisioningSteps.flatMap((step) => [[step, "start"], [step, "done"]] as const)

/** Runs `each` over `items`, `width` at a time (the machine has two cores and a shared PostgreSQL). */
const inBatches = <A, E, R>(items: ReadonlyArray<A>, width: number, each: (item: A) => Effect.Effect<void, E, R>) =>
  Effect.forEach(items, each, { concurrency: width, discard: true })

it.layer(Fixture.layer("provisioning_faults"), { timeout: "240 seconds" })("Provisioning under faults", (it) => {
  it.effect("killed at the start and at the end of every step: no tenant without a record, and a re-run finishes it", () =>
    Effect.gen(function*() {
      const { controlPlane, keyRing, prefix } = yield* Fixture
      const layer = provisioningOn(controlPlane.url, keyRing.ring)
      yield* Effect.flatMap(DatabaseServers, (servers) =>
        servers.add({
          name: "local",
          host: "127.0.0.1",
          port: 5432,
          adminConnectionString: Redacted.make(adminUrl()),
          maxDatabases: 100
        })).pipe(Effect.provide(layer))
      const env = { DATABASE_URL: controlPlane.url, ...keyRing.env }
      yield* inBatches(events, 7, ([step, phase]) =>
        Effect.gen(function*() {
          const name = tenantName(`kill-${step}-${phase}`)
          const ended = yield* Effect.promise(() => provisionUntil(env, name, prefix, `${step}:${phase}`))
          assert.strictEqual(ended.signal, "SIGKILL", `${step}:${phase} ended with code ${ended.code}`)
          assert.strictEqual(yield* Effect.promise(() => tenantsWithoutRecord(controlPlane.url, "kill-")), 0)
          const record = yield* recordOf(controlPlane.url, name)
          if (step === "create_tenant" || step === "place") {
            // Both run in one transaction: a crash inside it leaves nothing at all.
            assert.isUndefined(record, `${step}:${phase}`)
          } else {
            // The step was not recorded: the record still names the one before it.
            const before = provisioningSteps[provisioningSteps.indexOf(step) - 1]
            assert.strictEqual(record?.step, before, `${step}:${phase}`)
          }
          const result = yield* finish(name, prefix).pipe(Effect.provide(layer))
          assert.strictEqual(result.resumed, record !== undefined)
          assert.strictEqual((yield* recordOf(controlPlane.url, name))?.step, "activate")
        }))
      assert.strictEqual(yield* Effect.promise(() => tenantsWithoutRecord(controlPlane.url, "kill-")), 0)
    }))

  /** A proxy in front of the local server for the scope. */
  const proxied = Effect.acquireRelease(
    Effect.promise(() => TcpProxy.start({ host: "127.0.0.1", port: 5432 })),
    (p) => Effect.promise(() => p.close())
  )

  it.effect("the tenant's server refusing at each step that uses it: the step and reason are recorded, the database is error, a re-run finishes", () =>
    Effect.gen(function*() {
      const { controlPlane, keyRing, prefix } = yield* Fixture
      const layer = provisioningOn(controlPlane.url, keyRing.ring)
      const serverSteps: ReadonlyArray<ProvisioningStep> = ["create_role_and_database", "migrate", "seed"]
      // Each step's case on a server of its own behind a proxy of its own, all at once.
      yield* Effect.forEach(serverSteps, (refusedAt) =>
        Effect.gen(function*() {
          const proxy = yield* proxied
          const server = yield* Effect.flatMap(DatabaseServers, (servers) =>
            servers.add({
              name: `behind-proxy-${refusedAt.replaceAll("_", "-")}`,
              host: "127.0.0.1",
              port: proxy.port,
              adminConnectionString: Redacted.make(adminUrlVia(proxy.port)),
              maxDatabases: 100
            })).pipe(Effect.provide(layer))
          const name = tenantName(`refused-${refusedAt}`)
          const error = yield* Effect.flip(
            Effect.flatMap(Provisioning, (provisioning) =>
              provisioning.provision(
                { name, environment: "development", server: server.id, namePrefix: prefix },
                { onStep: (event) => event.step === refusedAt && event.phase === "start" ? Effect.promise(() => proxy.refuse()) : Effect.void }
              )).pipe(Effect.provide(layer), Effect.ensuring(Effect.promise(() => proxy.accept())))
          )
          assert.strictEqual(error._tag, "ProvisioningFailed", refusedAt)
          assert.deepInclude(error, { tenant: name, step: refusedAt })
          assert.match(error.message, new RegExp(`^Provisioning tenant "${name}" failed at step ${refusedAt}: .+; run the same command again to resume$`))
          const record = yield* recordOf(controlPlane.url, name)
          assert.strictEqual(record?.failed_step, refusedAt)
          assert.strictEqual(record?.database_status, "error")
          assert.isFalse(record!.error!.includes("\n"))
          assert.isFalse(record!.error!.includes("postgres://"))
          const result = yield* finish(name, prefix).pipe(Effect.provide(layer))
          assert.isTrue(result.resumed)
          const after = yield* recordOf(controlPlane.url, name)
          assert.deepInclude(after, { step: "activate", failed_step: null, error: null, attempts: 2, database_status: "active" })
        }).pipe(Effect.scoped), { concurrency: "unbounded", discard: true })
    }))

  it.effect("the control plane refusing at each step that writes it: no tenant without a record, and a re-run finishes", () =>
    Effect.gen(function*() {
      const { controlPlane, keyRing, prefix } = yield* Fixture
      const direct = provisioningOn(controlPlane.url, keyRing.ring)
      const server = yield* Effect.flatMap(DatabaseServers, (servers) =>
        servers.add({
          name: "local-for-control-plane-faults",
          host: "127.0.0.1",
          port: 5432,
          adminConnectionString: Redacted.make(adminUrl()),
          maxDatabases: 100
        })).pipe(Effect.provide(direct))
      const controlPlaneSteps: ReadonlyArray<ProvisioningStep> = ["create_tenant", "place", "register", "activate"]
      // Each step's case through a proxy of its own to the control plane, all at once.
      yield* Effect.forEach(controlPlaneSteps, (refusedAt) =>
        Effect.gen(function*() {
          const proxy = yield* proxied
          const viaProxy = new URL(controlPlane.url)
          viaProxy.port = String(proxy.port)
          const name = tenantName(`cp-refused-${refusedAt}`)
          const throughProxy = Layer.fresh(provisioningOn(viaProxy.toString(), keyRing.ring))
          const error = yield* Effect.flip(
            Effect.flatMap(Provisioning, (provisioning) =>
              provisioning.provision(
                { name, environment: "development", server: server.id, namePrefix: prefix },
                { onStep: (event) => event.step === refusedAt && event.phase === "start" ? Effect.promise(() => proxy.refuse()) : Effect.void }
              )).pipe(Effect.provide(throughProxy), Effect.ensuring(Effect.promise(() => proxy.accept())))
          )
          assert.include(["DbError", "ProvisioningFailed"], error._tag, refusedAt)
          assert.strictEqual(yield* Effect.promise(() => tenantsWithoutRecord(controlPlane.url, "cp-refused-")), 0)
          const result = yield* finish(name, prefix, server.id).pipe(Effect.provide(direct))
          assert.strictEqual((yield* recordOf(controlPlane.url, name))?.step, "activate", refusedAt)
          assert.strictEqual(result.tenant.status, "active")
        }).pipe(Effect.scoped), { concurrency: "unbounded", discard: true })
      assert.strictEqual(yield* Effect.promise(() => tenantsWithoutRecord(controlPlane.url, "cp-refused-")), 0)
    }))
})
