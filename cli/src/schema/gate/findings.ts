/**
 * What the migration gate reports: one finding per rule broken, naming the
 * file, the line and statement, the tool and the rule; and the plain-text
 * report that `npm run db:lint` prints.
 */

export type FindingSource = "engine" | "squawk" | "gate"

export interface Finding {
  /** The migration file's name (or atlas.sum). */
  readonly file: string
  /** 1-based line of the statement, when the finding is about one. */
  readonly line: number | undefined
  /** The statement's first line, when the finding is about one. */
  readonly statement: string | undefined
  readonly source: FindingSource
  /** The rule's name: an engine code with its analyzer, a squawk rule, or a gate rule. */
  readonly rule: string
  readonly message: string
}

export const finding = (fields: {
  file: string
  line?: number | undefined
  statement?: string | undefined
  source: FindingSource
  rule: string
  message: string
}): Finding => ({
  file: fields.file,
  line: fields.line,
  statement: fields.statement,
  source: fields.source,
  rule: fields.rule,
  message: fields.message
})

const byPosition = (a: Finding, b: Finding): number =>
  a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || a.source.localeCompare(b.source) || a.rule.localeCompare(b.rule)

/** Findings grouped by file, then by statement, as readable text. */
export const formatFindings = (directory: string, findings: ReadonlyArray<Finding>): string => {
  const out: Array<string> = []
  const files = [...new Set([...findings].sort(byPosition).map((f) => f.file))]
  for (const file of files) {
    out.push(`${directory}/${file}`)
    const ofFile = findings.filter((f) => f.file === file).sort(byPosition)
    let lastStatement: string | undefined = "\u0000"
    for (const f of ofFile) {
      const where = f.line === undefined ? "(file)" : `L${f.line}`
      const key = `${where}|${f.statement ?? ""}`
      if (key !== lastStatement) {
        out.push(`  ${where}${f.statement === undefined ? "" : `  ${f.statement}`}`)
        lastStatement = key
      }
      out.push(`      ${f.source} ${f.rule}: ${f.message}`)
    }
    out.push("")
  }
  return out.join("\n")
}
