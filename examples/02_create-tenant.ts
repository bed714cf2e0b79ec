/**
 * @title Create the acme_corp tenant
 *
 * The spec's second example: a production tenant. The lifecycle the database
 * enforces starts every tenant pending; it becomes active once it has an
 * active database (see the README's lifecycle table). A second run finds the
 * name taken and says so: a typed error, handled here.
 * Creating is a write, so it runs as an Actor, whom the audit trail records.
 *   npm run example -- 02
 */
import { Effect } from "effect"
import { Actor, Tenants } from "../src/index.ts"

const program = Effect.gen(function*() {
  const tenants = yield* Tenants
  const acme = yield* tenants.create({ name: "acme_corp", environment: "production" })
  yield* Effect.log(`created ${acme.name} (${acme.tenantId}), ${acme.status}`)
}).pipe(
  Effect.catchTag("TenantNameTaken", (taken) => Effect.log(`${taken.name} exists already`))
)

// Only Tenants is used, so only its layer: DATABASE_URL is all it needs (no key ring).
// Providing it opens the pool; running to the end closes it. The Actor names who acts.
Effect.runPromise(
  program.pipe(Effect.provide(Actor.layer("examples/02_create-tenant")), Effect.provide(Tenants.layer))
).catch((error: unknown) => {
  // The library's errors say in one sentence what went wrong (never a secret).
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})
