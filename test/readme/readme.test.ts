/**
 * The README runs as written: every `control-plane ...` line of its shell
 * blocks (```sh) runs, in order, on a fresh, empty database, as on the quick
 * start (DATABASE_URL set, the key ring in a key ring file that `keys add`
 * and `keys rotate` change). Each must exit 0, unless its comment says
 * `exit N`: then it must exit N with one `error:` line. No output may show a
 * secret, except `databases reveal`'s stdout. Output samples (```text) are
 * not run.
 *
 * The shell the README uses is the small part this test understands:
 * `export NAME='value'`, `NAME=$(control-plane ...)`, `printf '%s' "$NAME" |
 * control-plane ...`, quotes and `$NAME`. A line it cannot read fails the
 * test, so the README stays within it. Commands run in-process.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { generateKeyRing } from "../../cli/src/quickstart/files.ts"
import { parseKeyRingFile } from "../../cli/src/keyRingFile.ts"
import { projectFile } from "../../cli/src/schema/paths.ts"
import { type CliResult, expectOneErrorLine, runInProcess } from "../cli/harness.ts"
import { createTestDatabase, type TestDatabase } from "../support/testDatabase.ts"

interface ReadmeLine {
  readonly number: number
  readonly text: string
}

/** The lines of the README's ```sh blocks, with their line numbers. */
const shellLines = (readme: string): Array<ReadmeLine> => {
  const lines: Array<ReadmeLine> = []
  let inShell = false
  let inOther = false
  readme.split("\n").forEach((text, index) => {
    const fence = /^```(\w*)\s*$/.exec(text)
    if (fence !== null) {
      if (inShell || inOther) inShell = inOther = false
      else if (fence[1] === "sh") inShell = true
      else inOther = true
      return
    }
    if (inShell) lines.push({ number: index + 1, text })
  })
  return lines
}

/** Splits a line into its command and its comment (a `#` outside quotes, after a space). */
const splitComment = (text: string): { readonly command: string; readonly comment: string } => {
  let quote: string | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quote !== undefined) {
      if (c === quote) quote = undefined
    } else if (c === "'" || c === '"') quote = c
    else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]!))) return { command: text.slice(0, i).trim(), comment: text.slice(i + 1) }
  }
  return { command: text.trim(), comment: "" }
}

/** Shell words: '...' literal, "..." with $NAME expanded, bare words with $NAME expanded. */
const words = (text: string, env: Record<string, string>): Array<string> => {
  const expand = (s: string) =>
    s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, name: string) => {
      if (env[name] === undefined) throw new Error(`$${name} is not set at this point of the README`)
      return env[name]
    })
  const result: Array<string> = []
  let current: string | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (/\s/.test(c)) {
      if (current !== undefined) result.push(current)
      current = undefined
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1)
      if (end === -1) throw new Error(`unclosed ' in: ${text}`)
      current = (current ?? "") + text.slice(i + 1, end)
      i = end
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1)
      if (end === -1) throw new Error(`unclosed " in: ${text}`)
      current = (current ?? "") + expand(text.slice(i + 1, end))
      i = end
    } else {
      let end = i
      while (end < text.length && !/[\s'"]/.test(text[end]!)) end++
      current = (current ?? "") + expand(text.slice(i, end))
      i = end - 1
    }
  }
  if (current !== undefined) result.push(current)
  return result
}

type Step =
  | { readonly _tag: "Export"; readonly assignments: ReadonlyArray<string> }
  | { readonly _tag: "Run"; readonly args: string; readonly stdinFrom?: string; readonly captureInto?: string }

/** What a README line asks for, or undefined for a line that is not about control-plane (npm, comments, blanks). */
const stepOf = (command: string): Step | undefined => {
  const line = command.replace(/^\$ /, "")
  let match: RegExpExecArray | null
  if ((match = /^export\s+(.*)$/.exec(line)) !== null) return { _tag: "Export", assignments: [match[1]!] }
  if ((match = /^([A-Za-z_][A-Za-z0-9_]*)=\$\(control-plane\s+(.*)\)$/.exec(line)) !== null) {
    return { _tag: "Run", args: match[2]!, captureInto: match[1]! }
  }
  if ((match = /^printf '%s' "\$([A-Za-z_][A-Za-z0-9_]*)" \| control-plane\s+(.*)$/.exec(line)) !== null) {
    return { _tag: "Run", args: match[2]!, stdinFrom: match[1]! }
  }
  if ((match = /^control-plane\s+(.*)$/.exec(line)) !== null) return { _tag: "Run", args: match[1]! }
  if (/(^|[|(;&]\s*)control-plane\s/.test(line)) throw new Error(`the README test cannot run this line: ${line}`)
  return undefined
}

let database: TestDatabase
let folder: string
let keyRingFile: string

beforeAll(async () => {
  database = await createTestDatabase("readme")
  folder = await mkdtemp(path.join(tmpdir(), "cp-readme-"))
  keyRingFile = path.join(folder, "encryption-keys")
  await writeFile(keyRingFile, generateKeyRing(), { mode: 0o600 })
})
afterAll(async () => {
  await database?.drop()
  if (folder !== undefined) await rm(folder, { recursive: true, force: true })
})

describe("README", () => {
  it("every control-plane line of its shell blocks runs in order, with the exit code its comment gives", async () => {
    const lines = shellLines(await readFile(projectFile("README.md"), "utf8"))
    const env: Record<string, string> = { DATABASE_URL: database.url }
    const secrets: Array<string> = [database.url]
    let ran = 0
    for (const { number, text } of lines) {
      const { command, comment } = splitComment(text)
      const step = stepOf(command)
      if (step === undefined) continue
      const where = `README.md:${number}: ${command}`
      if (step._tag === "Export") {
        for (const assignment of words(step.assignments[0]!, env)) {
          const separator = assignment.indexOf("=")
          env[assignment.slice(0, separator)] = assignment.slice(separator + 1)
          if (/postgres(ql)?:\/\//.test(assignment)) secrets.push(assignment.slice(separator + 1))
        }
        continue
      }
      const args = words(step.args, env)
      // As `npm run cli` does on the quick start: the key ring from its file, read afresh for each command.
      const keys = parseKeyRingFile(await readFile(keyRingFile, "utf8"))
      const settings = { ...env, ...keys }
      const keyMaterial = keys["CONTROL_PLANE_ENCRYPTION_KEYS"]!.split(",").map((entry) => entry.slice(entry.indexOf(":") + 1))
      const result: CliResult = await runInProcess(settings, args, step.stdinFrom === undefined ? "" : env[step.stdinFrom]!, keyRingFile)
      ran++
      const expected = Number(/\bexit (\d+)\b/.exec(comment)?.[1] ?? 0)
      if (expected === 0) expect(result.code, `${where}\n${result.stderr}`).toBe(0)
      else expectOneErrorLine(result, expected as 1 | 2, /./)
      // Booleans: a failing check must not print the secret it found.
      const revealing = args[0] === "databases" && args[1] === "reveal"
      for (const [index, secret] of [...secrets, ...keyMaterial].entries()) {
        expect(result.stderr.includes(secret), `${where}: stderr shows secret #${index}`).toBe(false)
        if (!revealing) expect(result.stdout.includes(secret), `${where}: stdout shows secret #${index}`).toBe(false)
      }
      if (step.captureInto !== undefined) env[step.captureInto] = result.stdout.trim()
    }
    // The tour is there: every group of commands ran.
    expect(ran).toBeGreaterThan(25)
  })
})
