/**
 * The statements of migration files, as PostgreSQL's own parser finds them
 * (the engine's `sql statements`), and what the gate's reports need of them:
 * the statement a line belongs to, the comment lines above it (where
 * exception markers live) and a one-line headline.
 */
import { Effect } from "effect"
import path from "node:path"
import { Engine, type Statement } from "../../engine/Engine.ts"

export type { Statement } from "../../engine/Engine.ts"

/** The statements of each named file of `directory`, by file name. */
export const statementsOf = (directory: string, names: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const byPath = yield* engine.statements(names.map((name) => path.join(directory, name)))
    return new Map(names.map((name) => [name, byPath.get(path.join(directory, name)) ?? []]))
  })

/** The statement that contains `line` (1-based), if any. */
export const statementAtLine = (statements: ReadonlyArray<Statement>, line: number): Statement | undefined =>
  statements.find((s) => s.line <= line && line <= s.endLine)

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

/** The first line of a statement, shortened for a one-line report. */
export const headline = (text: string, width = 110): string => {
  const first = text.split("\n")[0]!.trim()
  const more = text.includes("\n") ? " …" : ""
  return first.length > width ? `${first.slice(0, width - 1)}…` : `${first}${more}`
}
