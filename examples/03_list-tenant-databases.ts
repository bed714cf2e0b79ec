/**
 * @title List a tenant's databases
 *
 * The spec's third example: every database registered for a tenant, without
 * ever decrypting a connection string (TenantDatabase holds no plaintext).
 *   npm run example -- 03 [tenant name, default acme_corp]
 */
import { Effect } from "effect"
import { ControlPlane, TenantDatabases, Tenants } from "../src/index.ts"

const tenantName = process.argv[2] ?? "acme_corp"

const program = Effect.gen(function*() {
  const tenant = yield* Tenants.use((tenants) => tenants.findByName(tenantName))
  const databases = yield* TenantDatabases.use((registry) => registry.listForTenant(tenant.tenantId))
  yield* Effect.log(`${tenant.name} has ${databases.length} database(s)`)
  for (const database of databases) {
    yield* Effect.log(`  ${database.databaseName} on ${database.host}:${database.port} (${database.status})`)
  }
})

Effect.runPromise(program.pipe(Effect.provide(ControlPlane.layer))).catch((error: unknown) => {
  // The library's errors say in one sentence what went wrong (never a secret).
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})
