/**
 * The README's usage examples (examples/, the spec's three) run as programs
 * against a migrated database, configured only by environment variables, as a
 * backend program would be: the first two with DATABASE_URL alone (they use
 * Tenants only, so no key ring), the third with the key ring too.
 * ControlPlane.layer is built from the same variables in-process to register
 * a database for the third example.
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { ConfigProvider, Effect, Layer, ManagedRuntime, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ControlPlane, TenantDatabases, Tenants } from "../../src/index.ts"
import { projectFile } from "../../cli/src/schema/paths.ts"
import { testKeyRing } from "../cli/harness.ts"
import { testActor } from "../db/testDb.ts"
import { createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"

const run = promisify(execFile)
const secret = "postgres://acme_app:s3cret-Pa55@acme-db.internal:5432/acme"

let database: TestDatabase
let env: Record<string, string>
const ring = testKeyRing().env

/** The test process's environment without anything that would configure the control plane. */
const withoutControlPlaneSettings = () =>
  Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== "DATABASE_URL" && !name.startsWith("CONTROL_PLANE_")))

const runExample = async (file: string, ...args: Array<string>): Promise<string> => {
  // Tenants-only examples get no key ring: they must not need one.
  const { stdout, stderr } = await run(process.execPath, [projectFile(`examples/${file}`), ...args], {
    env: { ...withoutControlPlaneSettings(), ...env, ...(file.startsWith("03_") ? ring : {}) },
    timeout: 30_000
  })
  const output = stdout + stderr
  // A boolean, not toContain: a failing assertion must not print the secret.
  expect(output.includes(secret), "an example printed the connection string").toBe(false)
  return output
}

beforeAll(async () => {
  database = await createMigratedTestDatabase("examples")
  env = { DATABASE_URL: database.url }
})

afterAll(async () => {
  await database?.drop()
})

describe("examples/", () => {
  it("01 finds the seeded system_admin tenant, with DATABASE_URL alone", async () => {
    expect(await runExample("01_find-system-admin.ts")).toMatch(/found system_admin: production, active \([0-9a-f-]{36}\)/)
  })

  it("02 creates acme_corp, and a second run reports the name taken", async () => {
    expect(await runExample("02_create-tenant.ts")).toMatch(/created acme_corp \([0-9a-f-]{36}\)/)
    expect(await runExample("02_create-tenant.ts")).toMatch(/acme_corp exists already/)
  })

  it("03 lists acme_corp's databases without revealing a connection string", async () => {
    const runtime = ManagedRuntime.make(
      ControlPlane.layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ ...env, ...ring }))))
    )
    try {
      await runtime.runPromise(Effect.gen(function*() {
        const acme = yield* Tenants.use((tenants) => tenants.findByName("acme_corp"))
        yield* TenantDatabases.use((registry) =>
          registry.register({
            tenantId: acme.tenantId,
            connectionString: Redacted.make(secret),
            databaseName: "acme",
            host: "acme-db.internal",
            status: "active"
          })
        )
      }).pipe(Effect.provide(testActor("examples-test"))))
    } finally {
      await runtime.dispose()
    }
    const output = await runExample("03_list-tenant-databases.ts", "acme_corp")
    expect(output).toMatch(/acme_corp has 1 database\(s\)/)
    expect(output).toMatch(/acme on acme-db\.internal:5432 \(active\)/)
  })
})
