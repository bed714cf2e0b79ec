/**
 * squawk (the PostgreSQL migration linter, from the squawk-cli npm package) on
 * the files the gate checks, with the project's .squawk.toml, read back as
 * findings.
 *
 * Atlas runs each file in one transaction unless the file says
 * `-- atlas:txmode none`; squawk is told the same (`assume_in_transaction` in
 * the config, `--no-assume-in-transaction` for txmode-none files), so that
 * its transaction-aware rules judge the file as Atlas will run it.
 */
import { execFile } from "node:child_process"
import { readFile } from "node:fs/promises"
import path from "node:path"
import { promisify } from "node:util"
import { projectFile } from "../paths.ts"
import { finding, type Finding } from "./findings.ts"
import { headline, splitStatements, statementAtLine } from "./statements.ts"

const run = promisify(execFile)

/** The committed squawk configuration. */
export const squawkConfig = projectFile(".squawk.toml")

interface SquawkViolation {
  readonly file: string
  readonly line: number
  readonly rule_name: string
  readonly message: string
  readonly help?: string | null
}

/** Thrown when squawk itself fails (bad config, missing binary), as opposed to finding violations. */
export class SquawkFailed extends Error {}

/** The values of an Atlas file directive (`-- atlas:<name> <value>` lines at the top, then a blank line). */
export const fileDirective = (sql: string, name: string): ReadonlyArray<string> => {
  const lines = sql.split("\n")
  let count = 0
  while (count < lines.length && /^(--|#)/.test(lines[count]!)) count++
  if (lines[count] !== "") return []
  return lines
    .slice(0, count)
    .map((line) => new RegExp(`^(?:--|#)\\s*atlas:${name}(?:\\s+(.*))?$`).exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => (m[1] ?? "").trim())
}

const squawk = async (files: ReadonlyArray<string>, inTransaction: boolean): Promise<ReadonlyArray<SquawkViolation>> => {
  if (files.length === 0) return []
  const args = ["--config", squawkConfig, "--reporter", "json", ...(inTransaction ? [] : ["--no-assume-in-transaction"]), ...files]
  let stdout: string
  try {
    stdout = (await run(projectFile("node_modules/.bin/squawk"), args, { maxBuffer: 16 * 1024 * 1024 })).stdout
  } catch (error) {
    // squawk exits 1 when it finds violations, with its JSON report on stdout.
    const failure = error as { stdout?: string; stderr?: string; code?: number }
    if (failure.code !== 1 || failure.stdout === undefined || !failure.stdout.trim().startsWith("[")) {
      throw new SquawkFailed(`squawk failed: ${(failure.stderr ?? String(error)).trim().split("\n")[0]}`)
    }
    stdout = failure.stdout
  }
  try {
    return JSON.parse(stdout) as ReadonlyArray<SquawkViolation>
  } catch {
    throw new SquawkFailed("squawk printed a report that is not JSON")
  }
}

/** Runs squawk on the given files of `directory`. */
export const squawkLint = async (directory: string, names: ReadonlyArray<string>): Promise<ReadonlyArray<Finding>> => {
  const texts = new Map<string, string>()
  for (const name of names) texts.set(name, await readFile(path.join(directory, name), "utf8"))
  const noTransaction = names.filter((name) => fileDirective(texts.get(name)!, "txmode").includes("none"))
  const inTransaction = names.filter((name) => !noTransaction.includes(name))
  const violations = [
    ...(await squawk(inTransaction.map((n) => path.join(directory, n)), true)),
    ...(await squawk(noTransaction.map((n) => path.join(directory, n)), false))
  ]
  return violations.map((v) => {
    const file = path.basename(v.file)
    const statements = splitStatements(texts.get(file) ?? "")
    const statement = statementAtLine(statements, v.line + 1)
    const help = v.help === undefined || v.help === null || v.help === "" ? "" : ` (${v.help})`
    return finding({
      file,
      line: statement?.line ?? v.line + 1,
      statement: statement === undefined ? undefined : headline(statement.text),
      source: "squawk",
      rule: v.rule_name,
      message: `${v.message}${help}`
    })
  })
}
