/**
 * The tenant schemas on their own: the id brand, the name rules and the
 * messages of the tenant errors. (What the database makes of names is in
 * test/services/Tenants.test.ts.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { decodeInput } from "../../src/domain/errors.ts"
import { Tenant, TenantId, TenantName, TenantNameTaken, TenantNotFound } from "../../src/domain/Tenant.ts"

const nameIssue = (name: unknown) =>
  Effect.flip(decodeInput(TenantName, "tenant name")(name)).pipe(Effect.map((error) => error.message))

describe("TenantId", () => {
  it("accepts UUIDs and brands them", () => {
    const id = TenantId.make("8b9c6f0e-3c1a-4b7e-9d2f-0a1b2c3d4e5f")
    assert.strictEqual(id, "8b9c6f0e-3c1a-4b7e-9d2f-0a1b2c3d4e5f")
    assert.isFalse(Schema.is(TenantId)("8b9c6f0e3c1a4b7e9d2f0a1b2c3d4e5f"))
    assert.isFalse(Schema.is(TenantId)("system_admin"))
    assert.throws(() => TenantId.make("nope"))
  })
})

describe("TenantName", () => {
  it("allows letters of any script, digits, inner spaces and punctuation", () => {
    for (const name of ["system_admin", "Acme Corp.", "Müller GmbH", "株式会社", "a", "x".repeat(255), "🦀".repeat(255)]) {
      assert.isTrue(Schema.is(TenantName)(name), name)
    }
  })

  it.effect("refuses empty, too long, padded, control characters and lone surrogates, saying which", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* nameIssue(""), "Invalid tenant name: must not be empty")
      assert.strictEqual(yield* nameIssue("x".repeat(256)), "Invalid tenant name: must be at most 255 characters")
      assert.strictEqual(yield* nameIssue("🦀".repeat(256)), "Invalid tenant name: must be at most 255 characters")
      for (const padded of [" acme", "acme ", "\u00a0acme", "   "]) {
        assert.strictEqual(yield* nameIssue(padded), "Invalid tenant name: must not start or end with whitespace")
      }
      for (const controlled of ["a\nb", "a\u0000b", "a\u001bb", "a\u007fb", "a\u0085b", "a\ud800b"]) {
        assert.strictEqual(
          yield* nameIssue(controlled),
          "Invalid tenant name: must not contain control characters or lone surrogates"
        )
      }
      assert.strictEqual(yield* nameIssue(7), "Invalid tenant name: Expected string")
    }))
})

describe("Tenant", () => {
  it("is a record of the stored columns", () => {
    const now = new Date()
    const tenant = Tenant.make({
      tenantId: TenantId.make("8b9c6f0e-3c1a-4b7e-9d2f-0a1b2c3d4e5f"),
      name: "acme",
      environment: "staging",
      status: "pending",
      createdAt: now,
      updatedAt: now
    })
    assert.strictEqual(tenant.environment, "staging")
    assert.isTrue(Schema.is(Tenant)(tenant))
    assert.isFalse(Schema.is(Tenant)({ ...tenant, status: "deleted" }))
    assert.isFalse(Schema.is(Tenant)({ ...tenant, tenantId: "acme" }))
  })
})

describe("tenant errors", () => {
  it("say what was not found or taken", () => {
    assert.strictEqual(
      new TenantNotFound({ tenantId: "8b9c6f0e-3c1a-4b7e-9d2f-0a1b2c3d4e5f" }).message,
      "No tenant has the id 8b9c6f0e-3c1a-4b7e-9d2f-0a1b2c3d4e5f"
    )
    assert.strictEqual(new TenantNotFound({ name: "acme" }).message, `No tenant is named "acme"`)
    assert.strictEqual(new TenantNameTaken({ name: "acme" }).message, `A tenant named "acme" already exists`)
    assert.strictEqual(new TenantNameTaken({ name: "acme" })._tag, "TenantNameTaken")
  })
})
