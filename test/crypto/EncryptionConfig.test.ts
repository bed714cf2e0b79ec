import { randomBytes } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Redacted, Result } from "effect"
import {
  ENCRYPTION_KEYS_VAR,
  layer as configKeyProvider,
  loadKeyRing,
  parseKeyRing,
  PRIMARY_KEY_ID_VAR
} from "../../src/crypto/EncryptionConfig.ts"
import { KeyProvider, KeyRing, type KeyRingError } from "../../src/crypto/KeyRing.ts"
import { assertNoSecrets, renderings } from "./leaks.ts"

const key = (bytes = 32) => randomBytes(bytes).toString("base64")
const k1 = key()
const k2 = key()

const parse = (keys: string, primary: string) => parseKeyRing(Redacted.make(keys), primary)

const errorOf = (result: Result.Result<KeyRing, KeyRingError>): KeyRingError => {
  assert.isTrue(Result.isFailure(result), "expected the ring to be refused")
  return (result as Result.Failure<KeyRing, KeyRingError>).failure
}

/** The error is a single sentence and shows none of the secrets in any rendering. */
const assertOneSafeSentence = (error: KeyRingError, secrets: ReadonlyArray<string>) => {
  assert.strictEqual(error._tag, "KeyRingError")
  assert.match(error.message, /^[^\n]+\.$/)
  assertNoSecrets(renderings(error), secrets)
}

describe("parseKeyRing", () => {
  it("reads id:base64 pairs and marks the named key primary", () => {
    const ring = Result.getOrThrow(parse(`old:${k1}, new:${k2}`, "new"))
    assert.strictEqual(ring.primary.id, "new")
    assert.deepStrictEqual(ring.keys.map((k) => k.id), ["old", "new"])
    assert.deepStrictEqual([...Redacted.value(ring.get("old")!.material)], [...Buffer.from(k1, "base64")])
    assert.isUndefined(ring.get("other"))
  })

  it("holds key material redacted: the ring prints ids only", () => {
    const ring = Result.getOrThrow(parse(`old:${k1},new:${k2}`, "new"))
    assert.strictEqual(String(ring.primary.material), "<redacted:encryption key new>")
    assertNoSecrets([String(ring), JSON.stringify(ring), JSON.stringify(ring.keys)], [k1, k2])
    assert.strictEqual(String(ring), "KeyRing(primary=new, keys=old,new)")
  })

  const refusals: ReadonlyArray<readonly [string, string, string, RegExp]> = [
    ["bad base64", `k1:${k1.slice(0, 10)}!!${k1.slice(12)}`, "k1", /key "k1" is not valid base64/],
    ["non-canonical base64 (stray whitespace inside)", `k1:${k1.slice(0, 20)} ${k1.slice(20)}`, "k1", /key "k1" is not valid base64/],
    ["a 16-byte key", `k1:${key(16)}`, "k1", /key "k1" is 16 bytes long, AES-256 needs exactly 32/],
    ["a 33-byte key", `k1:${key(33)}`, "k1", /key "k1" is 33 bytes long/],
    ["a duplicate id", `k1:${k1},k1:${k2}`, "k1", /lists key id "k1" twice/],
    ["an unknown primary id", `k1:${k1},k2:${k2}`, "k3", /names key "k3", which CONTROL_PLANE_ENCRYPTION_KEYS does not list \(it lists "k1", "k2"\)/],
    ["a key without id", k1, "k1", /entry 1 has no key id/],
    ["a key and id swapped", `${k1}:k1`, "k1", /entry 1 has a malformed key id/],
    ["an empty entry", `k1:${k1},,k2:${k2}`, "k1", /entry 2 is empty/],
    ["a key pasted as the primary id", `k1:${k1}`, k1, /CONTROL_PLANE_PRIMARY_KEY_ID is not a well-formed key id/],
    ["an id with a colon", `a:b:${k1}`, "a", /key "a" is not valid base64/]
  ]
  for (const [what, keys, primary, expected] of refusals) {
    it(`refuses ${what} with one sentence that shows no key`, () => {
      const error = errorOf(parse(keys, primary))
      assert.match(error.message, expected)
      assertOneSafeSentence(error, [k1, k2, keys])
    })
  }

  it("names the variable in every refusal", () => {
    assert.include(errorOf(parse(`k1:${key(16)}`, "k1")).message, ENCRYPTION_KEYS_VAR)
    assert.include(errorOf(parse(`k1:${k1}`, "nope")).message, PRIMARY_KEY_ID_VAR)
  })
})

describe("KeyRing.make", () => {
  it("refuses key material of the wrong length even when built by hand", () => {
    const short = { id: "k1" as never, material: Redacted.make(new Uint8Array(31)) }
    assert.match(errorOf(KeyRing.make([short], "k1")).message, /Key "k1" is not 32 bytes long/)
  })

  it("refuses an empty ring", () => {
    assert.match(errorOf(KeyRing.make([], "k1")).message, /holds no keys/)
  })
})

describe("loadKeyRing (effect Config)", () => {
  const withEnv = (env: Record<string, string>) =>
    Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))

  it.effect("builds the ring from the environment", () =>
    Effect.gen(function*() {
      const ring = yield* loadKeyRing.pipe(withEnv({ [ENCRYPTION_KEYS_VAR]: `a:${k1},b:${k2}`, [PRIMARY_KEY_ID_VAR]: "a" }))
      assert.strictEqual(ring.primary.id, "a")
    }))

  it.effect("is what the configuration KeyProvider hands out", () =>
    Effect.gen(function*() {
      const provider = yield* KeyProvider
      const ring = yield* provider.keyRing
      assert.deepStrictEqual(ring.keys.map((k) => k.id), ["a", "b"])
    }).pipe(
      Effect.provide(configKeyProvider),
      withEnv({ [ENCRYPTION_KEYS_VAR]: `a:${k1},b:${k2}`, [PRIMARY_KEY_ID_VAR]: "b" })
    ))

  const missing: ReadonlyArray<readonly [string, Record<string, string>, RegExp]> = [
    ["no keys", { [PRIMARY_KEY_ID_VAR]: "a" }, /^CONTROL_PLANE_ENCRYPTION_KEYS is not set;/],
    ["blank keys", { [ENCRYPTION_KEYS_VAR]: "  ", [PRIMARY_KEY_ID_VAR]: "a" }, /^CONTROL_PLANE_ENCRYPTION_KEYS is not set;/],
    ["no primary id", { [ENCRYPTION_KEYS_VAR]: `a:${k1}` }, /^CONTROL_PLANE_PRIMARY_KEY_ID is not set;/],
    ["a malformed key", { [ENCRYPTION_KEYS_VAR]: `a:${k1.slice(4)}`, [PRIMARY_KEY_ID_VAR]: "a" }, /key "a" is 29 bytes long/]
  ]
  for (const [what, env, expected] of missing) {
    it.effect(`fails with ${what}, in one sentence without the key`, () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(loadKeyRing.pipe(withEnv(env)))
        assert.isTrue(Exit.isFailure(exit))
        const error = yield* Effect.flip(loadKeyRing.pipe(withEnv(env)))
        assert.match(error.message, expected)
        assertOneSafeSentence(error, [k1, k1.slice(4)])
      }))
  }
})
