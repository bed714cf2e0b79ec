/**
 * `keys add [id]`: a new random 32-byte key. On a key ring file (the quick
 * start) it is added to the file as the primary key; otherwise it is printed
 * for the operator to add to CONTROL_PLANE_ENCRYPTION_KEYS.
 */
import { Config, Console, DateTime, Effect, Option, Redacted, Schema } from "effect"
import { Argument, Command } from "effect/cli"
import { UsageError } from "../../failure.ts"
import { KeyRingFile, newKeyMaterial, updateKeyRingFile } from "../../keyRingFile.ts"
import { ENCRYPTION_KEYS_VAR, KeyId, PRIMARY_KEY_ID_VAR } from "../../library.ts"
import { jsonFlag, printJson } from "../../output.ts"
import { displayPath } from "../../paths.ts"
import { KeyAddedView } from "../../views.ts"

const isKeyId = Schema.is(KeyId)

/**
 * The key ids CONTROL_PLANE_ENCRYPTION_KEYS lists (none when it is unset or
 * cannot be read): only the ids are read, never the key material.
 */
const configuredKeyIds = Config.option(Config.Redacted(ENCRYPTION_KEYS_VAR)).pipe(
  Effect.map(Option.match({
    onNone: (): ReadonlyArray<string> => [],
    onSome: (keys) => Redacted.value(keys).split(",").map((entry) => entry.slice(0, Math.max(0, entry.indexOf(":"))).trim())
  })),
  Effect.orElseSucceed((): ReadonlyArray<string> => [])
)

/** `k` and the current UTC time to the second, e.g. k20261201093000: unique enough, and sorts by age. */
const defaultKeyId = Effect.map(DateTime.now, (now) => `k${DateTime.formatIso(now).replace(/\D/g, "").slice(0, 14)}`)

export const commandKeysAdd = Command.make(
  "add",
  {
    id: Argument.String("id").pipe(
      Argument.withDescription("The new key's id: 1 to 32 letters, digits, '.', '_' or '-' (default: k and the current time)."),
      Argument.optional
    ),
    json: jsonFlag
  },
  ({ id, json }) =>
    Effect.gen(function*() {
      const keyId = Option.isSome(id) ? id.value : yield* defaultKeyId
      if (!isKeyId(keyId)) {
        return yield* new UsageError({ message: "a key id is 1 to 32 letters, digits, '.', '_' or '-'" })
      }
      const material = newKeyMaterial()
      const file = yield* KeyRingFile
      if (file === undefined) {
        // No file to change: the operator adds the key where the ring is configured.
        if ((yield* configuredKeyIds).includes(keyId)) {
          return yield* new UsageError({ message: `${ENCRYPTION_KEYS_VAR} already has a key ${keyId}` })
        }
        // The entry is the only copy of the new key: --json prints it too.
        if (json) return yield* printJson(KeyAddedView, { keyId, primary: false, file: null, entry: `${keyId}:${material}` })
        yield* Console.log(`${keyId}:${material}`)
        return yield* Console.error(
          `Add this entry to ${ENCRYPTION_KEYS_VAR} everywhere the control plane runs, set ${PRIMARY_KEY_ID_VAR}=${keyId}, then run \`control-plane keys rotate\`.`
        )
      }
      yield* updateKeyRingFile(file, (ring) =>
        ring.keys.some((key) => key.id === keyId)
          ? Effect.fail(new UsageError({ message: `the key ring already has a key ${keyId}` }))
          : Effect.succeed({ keys: [...ring.keys, { id: keyId, material }], primary: keyId, result: undefined })
      )
      if (json) return yield* printJson(KeyAddedView, { keyId, primary: true, file: displayPath(file), entry: null })
      yield* Console.log(
        `Added key ${keyId} to ${displayPath(file)} as the primary key: new connection strings are encrypted under it. ` +
          "Run `keys rotate` to re-encrypt the stored ones."
      )
    })
).pipe(
  Command.withDescription(
    "Make a new random encryption key. With the quick start's key ring file (.data/encryption-keys) it is added to the file and becomes the primary key; otherwise its entry (id:base64) is printed for you to add to CONTROL_PLANE_ENCRYPTION_KEYS. Then run `keys rotate`."
  ),
  Command.withShortDescription("Make a new encryption key.")
)
