/**
 * @title Find the system_admin tenant
 *
 * The spec's first example: look a tenant up by name. Run it with
 * DATABASE_URL and the key ring in the environment:
 *   node examples/01_find-system-admin.ts
 */
import { Effect } from "effect"
import { ControlPlane, Tenants } from "../src/index.ts"

const program = Effect.gen(function*() {
  const tenants = yield* Tenants
  const admin = yield* tenants.findByName("system_admin")
  yield* Effect.log(`found ${admin.name}: ${admin.environment}, ${admin.status} (${admin.tenantId})`)
  return admin
})

// Providing the one layer opens the pool; running to the end closes it.
Effect.runPromise(program.pipe(Effect.provide(ControlPlane.layer))).catch((error: unknown) => {
  console.error(String(error))
  process.exitCode = 1
})
