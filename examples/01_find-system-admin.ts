/**
 * @title Find the system_admin tenant
 *
 * The spec's first example: look a tenant up by name. Run it with
 * DATABASE_URL in the environment (or on the quick start's database):
 *   npm run example -- 01
 */
import { Effect } from "effect"
import { Tenants } from "../src/index.ts"

const program = Effect.gen(function*() {
  const tenants = yield* Tenants
  const admin = yield* tenants.findByName("system_admin")
  yield* Effect.log(`found ${admin.name}: ${admin.environment}, ${admin.status} (${admin.tenantId})`)
  return admin
})

// Only Tenants is used, so only its layer: DATABASE_URL is all it needs (no key ring).
// Providing it opens the pool; running to the end closes it.
Effect.runPromise(program.pipe(Effect.provide(Tenants.layer))).catch((error: unknown) => {
  // The library's errors say in one sentence what went wrong (never a secret).
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})
