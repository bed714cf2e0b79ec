/**
 * Exception markers: the only way to let a migration through a rule it breaks.
 *
 *   -- atlas:nolint DS103 -- the column was copied to tenants_archive in 20261201093000
 *   -- squawk-ignore ban-drop-column -- the column was copied to tenants_archive in 20261201093000
 *   -- squawk-ignore require-lock-timeout -- the table is created empty by the migration before
 *
 * Each names the rules it silences, then `--` and a written reason. The gate
 * rejects a marker without rules (a blanket exception), without a reason, or
 * whose reason names another Atlas rule: Atlas reads every word after
 * `atlas:nolint` as a rule, so such a reason would silence that rule too.
 */
import { finding, type Finding } from "./findings.ts"

export type MarkerTool = "atlas" | "squawk"

export interface Marker {
  readonly line: number
  readonly tool: MarkerTool
  /** File-wide (`squawk-ignore-file`, or an Atlas directive at the top of the file). */
  readonly fileWide: boolean
  readonly rules: ReadonlyArray<string>
  readonly reason: string
}

/**
 * The analyzers the engine's `migrate lint` runs (Atlas's PostgreSQL ones and
 * the engine's concurrent_index), and the codes they report: what an
 * `atlas:nolint` marker may name.
 */
export const atlasAnalyzers: Readonly<Record<string, ReadonlyArray<string>>> = {
  destructive: ["DS101", "DS102", "DS103"],
  data_depend: ["MF101", "MF102", "MF103", "MF104"],
  incompatible: ["BC101", "BC102"],
  condrop: ["CD101"],
  concurrent_index: ["PG101", "PG102", "PG103"]
}

const atlasRuleNames = new Set(Object.entries(atlasAnalyzers).flatMap(([name, codes]) => [name, ...codes]))

/** The analyzer an Atlas code belongs to, e.g. DS103 -> destructive. */
export const analyzerOf = (code: string): string | undefined =>
  Object.entries(atlasAnalyzers).find(([, codes]) => codes.includes(code))?.[0]

const markerPattern = /(?:--|\/\*)\s*(atlas:nolint|squawk-ignore-file|squawk-ignore)(?![\w-])(.*)$/

/** The smallest reason the gate accepts: three words, at least one of them a real word. */
const isWrittenReason = (reason: string): boolean => {
  const words = reason.split(/\s+/).filter((w) => w !== "")
  return words.length >= 3 && words.some((w) => /[A-Za-z]{3,}/.test(w))
}

/** How many leading comment lines Atlas reads as file directives (0 unless a blank line follows them). */
const fileDirectiveLines = (lines: ReadonlyArray<string>): number => {
  let count = 0
  while (count < lines.length && /^(--|#)/.test(lines[count]!)) count++
  // Atlas takes leading comments as file directives only when a blank line follows them.
  return lines[count] === "" ? count : 0
}

/** The values of an Atlas file directive (`-- atlas:<name> <value>` lines at the top, then a blank line). */
export const fileDirective = (sql: string, name: string): ReadonlyArray<string> => {
  const lines = sql.split("\n")
  return lines
    .slice(0, fileDirectiveLines(lines))
    .map((line) => new RegExp(`^(?:--|#)\\s*atlas:${name}(?:\\s+(.*))?$`).exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => (m[1] ?? "").trim())
}

/** Whether the engine runs the file statement by statement, outside a transaction (`-- atlas:txmode none`). */
export const runsOutsideTransaction = (sql: string): boolean => fileDirective(sql, "txmode").includes("none")

export interface MarkerScan {
  readonly markers: ReadonlyArray<Marker>
  readonly findings: ReadonlyArray<Finding>
}

/** Finds every marker of a file and checks that each names its rules and gives a reason. */
export const scanMarkers = (file: string, sql: string): MarkerScan => {
  const lines = sql.split("\n")
  const directives = fileDirectiveLines(lines)
  const markers: Array<Marker> = []
  const findings: Array<Finding> = []
  lines.forEach((text, index) => {
    const match = markerPattern.exec(text)
    if (match === null) return
    const line = index + 1
    const keyword = match[1]!
    const tool: MarkerTool = keyword === "atlas:nolint" ? "atlas" : "squawk"
    const body = match[2]!.replace(/\*\/\s*$/, "")
    const separator = body.indexOf("--")
    const rulesText = separator === -1 ? body : body.slice(0, separator)
    const reason = separator === -1 ? "" : body.slice(separator + 2).trim()
    const rules = rulesText
      .split(tool === "atlas" ? /\s+/ : /[\s,]+/)
      .map((r) => r.trim())
      .filter((r) => r !== "")
    const reject = (rule: string, message: string) =>
      findings.push(finding({ file, line, statement: text.trim(), source: "gate", rule, message }))
    if (rules.length === 0) {
      reject("marker-without-rules", `${keyword} must name the rules it silences (a blanket exception is not allowed)`)
    }
    if (tool === "atlas") {
      for (const rule of rules.filter((r) => !atlasRuleNames.has(r))) {
        reject("marker-unknown-rule", `${rule} is not an analyzer or code of the engine's migrate lint`)
      }
      const named = reason.split(/[^\w]+/).filter((w) => atlasRuleNames.has(w))
      if (named.length > 0) {
        reject(
          "marker-reason-names-rule",
          `the reason mentions ${named.join(", ")}; Atlas reads every word after atlas:nolint as a rule and would silence it too: rephrase the reason`
        )
      }
    }
    if (!isWrittenReason(reason)) {
      reject(
        "marker-without-reason",
        `${keyword} needs a written reason after the rules: "-- ${keyword} ${rules.join(tool === "atlas" ? " " : ", ") || "<rule>"} -- <why this exception is safe>"`
      )
    }
    markers.push({ line, tool, fileWide: keyword === "squawk-ignore-file" || (tool === "atlas" && index < directives), rules, reason })
  })
  return { markers, findings }
}

/**
 * Whether a marker excepts `rule` for the statement whose comment block is
 * `comments`: a squawk-ignore line among them, or a squawk-ignore-file anywhere.
 */
export const squawkExcepts = (markers: ReadonlyArray<Marker>, comments: ReadonlyArray<string>, rule: string): boolean =>
  markers.some((m) => m.tool === "squawk" && m.fileWide && m.rules.includes(rule)) ||
  comments.some((comment) => {
    const match = markerPattern.exec(comment)
    if (match === null || match[1] !== "squawk-ignore") return false
    const body = match[2]!
    const rulesText = body.includes("--") ? body.slice(0, body.indexOf("--")) : body
    return rulesText.split(/[\s,]+/).includes(rule)
  })
