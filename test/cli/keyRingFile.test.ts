/**
 * `keys add` and `keys rotate` with a key ring file (the quick start's
 * `.data/encryption-keys`), in-process: a new key goes into the file as the
 * primary, rotation drops only the keys nothing is encrypted under, changes
 * are written whole and serialised, and at every step the file alone decrypts
 * every stored connection string. Without a file, `keys add` only prints the
 * new entry.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { keysOf, parseKeyRingFile, updateKeyRingFile } from "../../cli/src/keyRingFile.ts"
import { generateKeyRing } from "../../cli/src/quickstart/files.ts"
import { createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"
import { type CliResult, expectOneErrorLine, runInProcess } from "./harness.ts"

let database: TestDatabase
let folder: string
let file: string
const connectionString = "postgres://ring_app:s3cret-ring-file@db.ring.internal/ring"

beforeAll(async () => {
  database = await createMigratedTestDatabase("cli_key_ring_file")
  folder = await mkdtemp(path.join(tmpdir(), "cp-ring-"))
  file = path.join(folder, "encryption-keys")
  await writeFile(file, generateKeyRing(), { mode: 0o600 })
})
afterAll(async () => {
  await database?.drop()
  if (folder !== undefined) await rm(folder, { recursive: true, force: true })
})

/** The CLI as `npm run cli` runs it on the quick start: the key ring read from the file for each command. */
const run = async (args: ReadonlyArray<string>, stdin = ""): Promise<CliResult> => {
  const keys = parseKeyRingFile(await readFile(file, "utf8"))
  const result = await runInProcess({ DATABASE_URL: database.url, ...keys }, args, stdin, file)
  const material = keysOf(keys).keys.map((key) => key.material)
  material.forEach((secret, i) => expect(`${result.stdout}${result.stderr}`.includes(secret), `output shows key #${i}`).toBe(false))
  return result
}

const ringIds = async () => keysOf(parseKeyRingFile(await readFile(file, "utf8")))

describe("keys add / keys rotate on a key ring file", () => {
  let databaseId = ""

  it("add puts a new primary key into the file; the old key stays while it encrypts something", async () => {
    expect((await run(["tenants", "create", "ringed", "-e", "staging"])).code).toBe(0)
    const registered = await run(["databases", "register", "-t", "ringed", "--quiet"], connectionString)
    expect(registered.code, registered.stderr).toBe(0)
    databaseId = registered.stdout.trim()
    const added = await run(["keys", "add", "ring-2", "--json"])
    expect(added.code, added.stderr).toBe(0)
    expect(JSON.parse(added.stdout)).toEqual({ keyId: "ring-2", primary: true, file, entry: null })
    const ring = await ringIds()
    expect({ ids: ring.keys.map((key) => key.id), primary: ring.primary }).toEqual({ ids: ["quickstart-1", "ring-2"], primary: "ring-2" })
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const revealed = await run(["databases", "reveal", databaseId])
    expect(revealed.stdout.trim() === connectionString, "the file still decrypts the stored connection string").toBe(true)
  })

  it("a taken or malformed id is a usage error, and the file is unchanged", async () => {
    const before = await readFile(file, "utf8")
    expectOneErrorLine(await run(["keys", "add", "ring-2"]), 2, /the key ring already has a key ring-2/)
    expectOneErrorLine(await run(["keys", "add", "bad:id"]), 2, /a key id is 1 to 32 letters/)
    expect((await readFile(file, "utf8")) === before, "the file changed").toBe(true)
  })

  it("rotate re-encrypts under the new key, then drops the key nothing uses; the file alone still decrypts", async () => {
    const rotated = await run(["keys", "rotate", "--json"])
    expect(rotated.code, rotated.stderr).toBe(0)
    expect(JSON.parse(rotated.stdout)).toMatchObject({ primaryKeyId: "ring-2", reencrypted: 1, droppedKeyIds: ["quickstart-1"] })
    expect((await ringIds()).keys.map((key) => key.id)).toEqual(["ring-2"])
    const revealed = await run(["databases", "reveal", databaseId])
    expect(revealed.code, revealed.stderr).toBe(0)
    expect(revealed.stdout.trim() === connectionString, "the file still decrypts the stored connection string").toBe(true)
    expect(await readdir(folder)).toEqual(["encryption-keys"])
  })

  it("changes from concurrent commands are serialised: none is lost", async () => {
    await Promise.all(
      ["c-1", "c-2", "c-3", "c-4"].map((id) =>
        Effect.runPromise(
          updateKeyRingFile(file, (ring) =>
            Effect.succeed({ keys: [...ring.keys, { id, material: "x".repeat(43) + "=" }], primary: ring.primary, result: undefined })
          )
        )
      )
    )
    expect((await ringIds()).keys.map((key) => key.id).sort()).toEqual(["c-1", "c-2", "c-3", "c-4", "ring-2"])
  })
})

describe("keys add without a key ring file", () => {
  it("prints the new entry on stdout and what to do with it on stderr", async () => {
    const result = await runInProcess({}, ["keys", "add", "2026-09"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^2026-09:[A-Za-z0-9+/]{43}=\n$/)
    expect(result.stderr).toMatch(/^Add this entry to CONTROL_PLANE_ENCRYPTION_KEYS .*CONTROL_PLANE_PRIMARY_KEY_ID=2026-09/)
    const other = await runInProcess({}, ["keys", "add", "2026-09"])
    expect(other.stdout === result.stdout, "two keys are the same").toBe(false)
  })

  it("--json prints the entry too: it is the only copy of the new key", async () => {
    const result = await runInProcess({}, ["keys", "add", "2026-10", "--json"])
    expect(result.code, result.stderr).toBe(0)
    const added = JSON.parse(result.stdout) as { keyId: string; primary: boolean; file: null; entry: string }
    expect({ ...added, entry: added.entry.replace(/:.*/, ":…") }).toEqual({ keyId: "2026-10", primary: false, file: null, entry: "2026-10:…" })
    expect(added.entry).toMatch(/^2026-10:[A-Za-z0-9+/]{43}=$/)
  })

  it("an id CONTROL_PLANE_ENCRYPTION_KEYS already lists is a usage error, and nothing is printed on stdout", async () => {
    const env = { CONTROL_PLANE_ENCRYPTION_KEYS: `2026-01:${Buffer.alloc(32, 7).toString("base64")}`, CONTROL_PLANE_PRIMARY_KEY_ID: "2026-01" }
    const result = await runInProcess(env, ["keys", "add", "2026-01"])
    expectOneErrorLine(result, 2, /CONTROL_PLANE_ENCRYPTION_KEYS already has a key 2026-01/)
    expect(result.stdout).toBe("")
  })
})
