/**
 * @title Create the acme_corp tenant
 *
 * The spec's second example: a production tenant, active from the start. A
 * second run finds the name taken and says so: a typed error, handled here.
 *   node examples/02_create-tenant.ts
 */
import { Effect } from "effect"
import { ControlPlane, Tenants } from "../src/index.ts"

const program = Effect.gen(function*() {
  const tenants = yield* Tenants
  const acme = yield* tenants.create({ name: "acme_corp", environment: "production", status: "active" })
  yield* Effect.log(`created ${acme.name} (${acme.tenantId})`)
}).pipe(
  Effect.catchTag("TenantNameTaken", (taken) => Effect.log(`${taken.name} exists already`))
)

Effect.runPromise(program.pipe(Effect.provide(ControlPlane.layer))).catch((error: unknown) => {
  console.error(String(error))
  process.exitCode = 1
})
