/**
 * The quick start's secret files: created whole or not at all, so runs that
 * race (two `npm start`s, `npm start` and `npm run cli`) all read the same,
 * complete secret, and an existing secret is never replaced.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { readOrCreateSecret } from "../../cli/src/quickstart/files.ts"

const folders: Array<string> = []

afterEach(async () => {
  await Promise.all(folders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })))
})

const freshFolder = async (): Promise<string> => {
  const folder = await mkdtemp(path.join(tmpdir(), "cp-secret-"))
  folders.push(folder)
  return folder
}

/** A secret large enough that writing it is not a single step. */
const bigSecret = (label: string) => () => `${label}:${"x".repeat(4 * 1024 * 1024)}\n`

describe("readOrCreateSecret", () => {
  it("racing creators all get the same complete secret; exactly one created it", async () => {
    for (let round = 0; round < 10; round++) {
      const file = path.join(await freshFolder(), "postgres-password")
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => readOrCreateSecret(file, bigSecret(`run-${i}`))))
      const onDisk = await readFile(file, "utf8")
      // Lengths and labels, not the contents: a failure message stays short.
      expect(onDisk.length).toBe(bigSecret("run-0")().length)
      expect(results.filter((result) => result.created)).toHaveLength(1)
      expect(results.map((result) => result.content === onDisk)).toEqual(results.map(() => true))
    }
  })

  it("a reader polling the file while it is created sees nothing or the whole secret, never part of it", async () => {
    const file = path.join(await freshFolder(), "encryption-keys")
    const expected = bigSecret("ring")()
    const seen: Array<number> = []
    let done = false
    const reader = (async () => {
      while (!done) {
        const text = await readFile(file, "utf8").catch(() => undefined)
        if (text !== undefined) seen.push(text.length)
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 5))
    await readOrCreateSecret(file, bigSecret("ring"))
    done = true
    await reader
    expect(seen.every((length) => length === expected.length), `partial reads: ${seen.filter((l) => l !== expected.length).join(",")}`).toBe(true)
  })

  it("the secret is mode 0600 and no temporary file is left in the folder", async () => {
    const folder = await freshFolder()
    const file = path.join(folder, "postgres-password")
    const first = await readOrCreateSecret(file, () => "first\n")
    const second = await readOrCreateSecret(file, () => "second\n")
    expect(first).toEqual({ content: "first\n", created: true })
    expect(second).toEqual({ content: "first\n", created: false })
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect(await readdir(folder)).toEqual(["postgres-password"])
  })

  it("an existing secret is read back, never replaced, and its mode is tightened to 0600", async () => {
    const folder = await freshFolder()
    const file = path.join(folder, "encryption-keys")
    await writeFile(file, "kept\n", { mode: 0o644 })
    expect(await readOrCreateSecret(file, () => "new\n")).toEqual({ content: "kept\n", created: false })
    expect(await readFile(file, "utf8")).toBe("kept\n")
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect(await readdir(folder)).toEqual(["encryption-keys"])
  })
})
