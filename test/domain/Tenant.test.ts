/**
 * The tenant schemas on their own: the id brand, the name rules and the
 * messages of the tenant errors. (What the database makes of names is in
 * test/services/Tenants.test.ts.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { decodeInput } from "../../src/domain/errors.ts"
import { StoredTenantName, Tenant, TenantId, TenantName, TenantNameTaken, TenantNotFound } from "../../src/domain/Tenant.ts"

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

  it.effect("refuses text-direction and invisible characters, naming the first; keeps the joiners emoji and scripts need", () =>
    Effect.gen(function*() {
      const hidden: ReadonlyArray<[string, string]> = [
        ["acme\u202Egnp.exe", "U+202E"], // right-to-left override
        ["ac\u2066me\u2069", "U+2066"], // left-to-right isolate
        ["ac\u200Bme", "U+200B"], // zero width space: looks like "acme"
        ["ac\u2060me", "U+2060"],
        ["ac\uFEFFme", "U+FEFF"],
        ["ac\u00ADme", "U+00AD"],
        ["a\u200Fcme\u200E", "U+200F"],
        ["ac\u3164me", "U+3164"], // Hangul filler: renders as a blank
        ["ac\u034Fme", "U+034F"], // combining grapheme joiner
        ["ac\uFFF9me", "U+FFF9"], // interlinear annotation anchor
        ["ac\u{E0001}me", "U+E0001"] // language tag
      ]
      for (const [name, codePoint] of hidden) {
        assert.strictEqual(
          yield* nameIssue(name),
          `Invalid tenant name: must not contain invisible or text-direction characters (${codePoint})`
        )
      }
      const keep = [
        "👨\u200D👩\u200D👧 Family", // zero width joiner
        "می\u200Cخواهم", // zero width non-joiner
        "🏳\uFE0F\u200D🌈", // variation selector
        "🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}", // Scotland's flag: tag characters
        "ᠮᠣᠩᠭᠣᠯ\u180B" // Mongolian free variation selector
      ]
      for (const name of keep) {
        assert.isTrue(Schema.is(TenantName)(name), name)
      }
    }))

  it("StoredTenantName, what a lookup takes, still allows them (a name stored before the rule can be found)", () => {
    assert.isTrue(Schema.is(StoredTenantName)("ac\u200Bme"))
    assert.isFalse(Schema.is(StoredTenantName)("a\nb"))
  })
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
