/**
 * A key ring kept in a file (the quick start's `.data/encryption-keys`), as
 * `NAME=value` lines of the two settings the library reads:
 *
 *   CONTROL_PLANE_ENCRYPTION_KEYS=quickstart-1:<base64>,k20261201093000:<base64>
 *   CONTROL_PLANE_PRIMARY_KEY_ID=k20261201093000
 *
 * When the CLI runs on such a file (`KeyRingFile` names it), `keys add` and
 * `keys rotate` change it, each change written whole to a temporary file and
 * renamed into place under a lock: the file always holds every key that
 * encrypts a stored connection string.
 */
import { randomBytes } from "node:crypto"
import { readFile, rename, rm, writeFile } from "node:fs/promises"
import path from "node:path"
import { Context, Effect } from "effect"
import { withFileLock } from "./fileLock.ts"
import { ENCRYPTION_KEYS_VAR, PRIMARY_KEY_ID_VAR } from "./library.ts"

/** The key ring file the CLI's key ring came from, when it came from one (the quick start). */
export const KeyRingFile = Context.Reference<string | undefined>("control-plane-cli/KeyRingFile", {
  defaultValue: () => undefined
})

/** A new 32-byte key, base64, as CONTROL_PLANE_ENCRYPTION_KEYS lists keys. */
export const newKeyMaterial = (): string => randomBytes(32).toString("base64")

/** The `NAME=value` lines of a key ring file (comments and blank lines skipped). */
export const parseKeyRingFile = (content: string): Record<string, string> => {
  const settings: Record<string, string> = {}
  for (const line of content.split("\n")) {
    const trimmed = line.trim()
    if (trimmed === "" || trimmed.startsWith("#")) continue
    const separator = trimmed.indexOf("=")
    if (separator === -1) continue
    settings[trimmed.slice(0, separator).trim()] = trimmed.slice(separator + 1).trim()
  }
  return settings
}

export interface KeyEntry {
  readonly id: string
  readonly material: string
}

/** The file's keys in order, and its primary key id. */
export const keysOf = (settings: Record<string, string>): { readonly keys: ReadonlyArray<KeyEntry>; readonly primary: string } => ({
  keys: (settings[ENCRYPTION_KEYS_VAR] ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map((entry) => ({ id: entry.slice(0, entry.indexOf(":")), material: entry.slice(entry.indexOf(":") + 1) })),
  primary: settings[PRIMARY_KEY_ID_VAR] ?? ""
})

/** A key ring file's text. */
export const formatKeyRingFile = (keys: ReadonlyArray<KeyEntry>, primary: string): string =>
  [
    "# The quick start's encryption key ring: keep this file secret (mode 0600).",
    "# Losing it makes every stored connection string unreadable.",
    "# To rotate: `npm run cli -- keys add` (a new primary key), then `npm run cli -- keys rotate`",
    "# (re-encrypts every connection string, then drops the keys nothing uses any more).",
    `${ENCRYPTION_KEYS_VAR}=${keys.map((key) => `${key.id}:${key.material}`).join(",")}`,
    `${PRIMARY_KEY_ID_VAR}=${primary}`,
    ""
  ].join("\n")

/** Replaces the file's content atomically: written whole (mode 0600) beside it, then renamed over it. */
const replaceFile = async (file: string, content: string): Promise<void> => {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`)
  try {
    await writeFile(temporary, content, { mode: 0o600, flag: "wx" })
    await rename(temporary, file)
  } finally {
    await rm(temporary, { force: true })
  }
}

/**
 * Reads the key ring file, applies `change` to its keys and primary, and
 * writes the result back, all under the file's lock so that two changes never
 * interleave. `change` may fail, and then nothing is written.
 */
export const updateKeyRingFile = <A, E, R>(
  file: string,
  change: (ring: ReturnType<typeof keysOf>) => Effect.Effect<{ readonly keys: ReadonlyArray<KeyEntry>; readonly primary: string; readonly result: A }, E, R>
) =>
  Effect.gen(function*() {
    const ring = keysOf(parseKeyRingFile(yield* Effect.promise(() => readFile(file, "utf8"))))
    const next = yield* change(ring)
    yield* Effect.promise(() => replaceFile(file, formatKeyRingFile(next.keys, next.primary)))
    return next.result
  }).pipe(withFileLock(`${file}.lock`))
