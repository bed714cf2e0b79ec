/**
 * Finds the statements of a migration file, so that a finding reported at a
 * byte offset (Atlas) or a line (squawk) can name the statement it is about,
 * and the comment lines above a statement (where exception markers live).
 *
 * A small lexer, not a parser: it knows PostgreSQL's comments (`--`, nested
 * `/* *\/`), quoted strings ('...', E'...' with backslash escapes), quoted
 * identifiers and dollar quoting, which is all it takes to find the `;` that
 * ends each statement.
 */

export interface Statement {
  /** 1-based line of the statement's first character. */
  readonly line: number
  /** 1-based line of its last character (the `;`, or the end of the file). */
  readonly endLine: number
  /** Character offset of its first character in the file. */
  readonly start: number
  /** The statement text, `;` included. */
  readonly text: string
  /** The comment lines directly above it (no blank line between), trimmed. */
  readonly comments: ReadonlyArray<string>
}

const dollarTag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/

/** The offset just past the construct starting at `i`, or `i` when none starts there. */
const skipQuoted = (sql: string, i: number): number => {
  const c = sql[i]
  const next = sql[i + 1]
  if (c === "-" && next === "-") {
    const end = sql.indexOf("\n", i)
    return end === -1 ? sql.length : end
  }
  if (c === "/" && next === "*") {
    let depth = 1
    let j = i + 2
    while (j < sql.length && depth > 0) {
      if (sql[j] === "/" && sql[j + 1] === "*") {
        depth++
        j += 2
      } else if (sql[j] === "*" && sql[j + 1] === "/") {
        depth--
        j += 2
      } else j++
    }
    return j
  }
  if (c === "'" || c === '"') {
    const escapes = c === "'" && (sql[i - 1] === "E" || sql[i - 1] === "e")
    let j = i + 1
    while (j < sql.length) {
      if (escapes && sql[j] === "\\") j += 2
      else if (sql[j] === c && sql[j + 1] === c) j += 2
      else if (sql[j] === c) return j + 1
      else j++
    }
    return sql.length
  }
  if (c === "$") {
    const tag = dollarTag.exec(sql.slice(i, i + 64))
    if (tag !== null && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? "")) {
      const end = sql.indexOf(tag[0], i + tag[0].length)
      return end === -1 ? sql.length : end + tag[0].length
    }
  }
  return i
}

const lineAt = (sql: string, offset: number): number => {
  let line = 1
  for (let i = 0; i < offset && i < sql.length; i++) if (sql[i] === "\n") line++
  return line
}

/** The comment lines directly above `line` (1-based), nearest last. */
export const commentsAbove = (lines: ReadonlyArray<string>, line: number): ReadonlyArray<string> => {
  const found: Array<string> = []
  for (let i = line - 2; i >= 0; i--) {
    const text = (lines[i] ?? "").trim()
    if (!text.startsWith("--") && !(text.startsWith("/*") && text.endsWith("*/"))) break
    found.unshift(text)
  }
  return found
}

/** Splits a migration file into its statements, in file order. */
export const splitStatements = (sql: string): ReadonlyArray<Statement> => {
  const lines = sql.split("\n")
  const statements: Array<Statement> = []
  let start = -1
  let i = 0
  const close = (end: number) => {
    if (start === -1) return
    const line = lineAt(sql, start)
    statements.push({
      line,
      endLine: lineAt(sql, end - 1),
      start,
      text: sql.slice(start, end).trim(),
      comments: commentsAbove(lines, line)
    })
    start = -1
  }
  while (i < sql.length) {
    const c = sql[i]!
    const isComment = (c === "-" && sql[i + 1] === "-") || (c === "/" && sql[i + 1] === "*")
    const skipped = skipQuoted(sql, i)
    if (skipped > i) {
      if (!isComment && start === -1) start = i
      i = skipped
    } else if (c === ";") {
      if (start === -1) start = i
      close(i + 1)
      i++
    } else {
      if (start === -1 && !/\s/.test(c)) start = i
      i++
    }
  }
  close(sql.length)
  return statements
}

/** The statement that contains `line` (1-based), if any. */
export const statementAtLine = (statements: ReadonlyArray<Statement>, line: number): Statement | undefined =>
  statements.find((s) => s.line <= line && line <= s.endLine)

/** 1-based line of a byte offset (Atlas reports positions in bytes of UTF-8). */
export const lineOfByteOffset = (sql: string, byteOffset: number): number => {
  const prefix = Buffer.from(sql, "utf8").subarray(0, byteOffset).toString("utf8")
  return lineAt(prefix, prefix.length)
}

/** The first line of a statement, shortened for a one-line report. */
export const headline = (text: string, width = 110): string => {
  const first = text.split("\n")[0]!.trim()
  const more = text.includes("\n") ? " …" : ""
  return first.length > width ? `${first.slice(0, width - 1)}…` : `${first}${more}`
}
