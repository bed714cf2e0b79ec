/**
 * The parts of the gate that need no database: finding statements in a
 * migration file (PostgreSQL's parser, through the engine), and judging
 * exception markers.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { fileDirective, scanMarkers, squawkExcepts } from "../../cli/src/schema/gate/markers.ts"
import { commentsAbove, statementAtLine, statementsOf } from "../../cli/src/schema/gate/statements.ts"
import { runTools } from "../support/schemaTools.ts"

/** The engine's statements of one file with this text. */
const splitStatements = async (sql: string) => {
  const directory = await mkdtemp(path.join(tmpdir(), "cp-statements-"))
  try {
    await writeFile(path.join(directory, "f.sql"), sql)
    return (await runTools(statementsOf(directory, ["f.sql"]))).get("f.sql")!
  } finally {
    await rm(directory, { recursive: true, force: true })
  }
}

describe("statements, as PostgreSQL's parser finds them", () => {
  it("ends statements at semicolons outside strings, identifiers, comments and dollar quotes", async () => {
    const sql = [
      "-- atlas:txmode none",
      "",
      "-- a comment; with a semicolon",
      "SET lock_timeout = '5s';",
      `COMMENT ON TABLE "a;b" IS 'it''s; fine';`,
      "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $body$",
      "BEGIN",
      "  NEW.x = 1; /* nested /* comment; */ */",
      "  RETURN NEW;",
      "END;",
      "$body$;",
      "SELECT E'\\';'",
      ""
    ].join("\n")
    const statements = await splitStatements(sql)
    expect(statements.map((s) => [s.line, s.endLine])).toEqual([[4, 4], [5, 5], [6, 11], [12, 12]])
    expect(commentsAbove(sql.split("\n"), statements[0]!.line)).toEqual(["-- a comment; with a semicolon"])
    expect(statements[2]!.text.endsWith("$body$;")).toBe(true)
    expect(statements.map((s) => s.kind)).toEqual(["VariableSetStmt", "CommentStmt", "CreateFunctionStmt", "SelectStmt"])
    expect(statementAtLine(statements, 8)?.line).toBe(6)
    expect(statementAtLine(statements, 2)).toBeUndefined()
  })

  it("knows which statements cannot run in a transaction", async () => {
    const statements = await splitStatements(
      `CREATE INDEX CONCURRENTLY i ON t (c);\nCREATE INDEX j ON t (c);\nDROP INDEX CONCURRENTLY k;\n`
    )
    expect(statements.map((s) => s.transactional)).toEqual([false, true, false])
  })
})

describe("fileDirective", () => {
  it("reads the leading directive block only, when a blank line ends it", () => {
    expect(fileDirective("-- atlas:txmode none\n\nSELECT 1;\n", "txmode")).toEqual(["none"])
    expect(fileDirective("-- atlas:txmode none\nSELECT 1;\n", "txmode")).toEqual([])
    expect(fileDirective("SELECT 1;\n-- atlas:txmode none\n\n", "txmode")).toEqual([])
  })
})

describe("scanMarkers", () => {
  const reason = "-- the data moved to tenant_history first"

  it("accepts markers that name rules and give a reason", () => {
    const scan = scanMarkers(
      "f.sql",
      [`-- atlas:nolint DS103 MF103 ${reason}`, `-- squawk-ignore ban-drop-column, adding-required-field ${reason}`, "SELECT 1;"].join("\n")
    )
    expect(scan.findings).toEqual([])
    expect(scan.markers.map((m) => [m.tool, m.rules, m.reason])).toEqual([
      ["atlas", ["DS103", "MF103"], "the data moved to tenant_history first"],
      ["squawk", ["ban-drop-column", "adding-required-field"], "the data moved to tenant_history first"]
    ])
  })

  it("rejects a marker without a reason, or with a token one", () => {
    const scan = scanMarkers("f.sql", ["-- atlas:nolint DS103", "-- squawk-ignore ban-drop-table -- ok", "/* squawk-ignore-file ban-drop-column */"].join("\n"))
    expect(scan.findings.map((f) => [f.line, f.rule])).toEqual([
      [1, "marker-without-reason"],
      [2, "marker-without-reason"],
      [3, "marker-without-reason"]
    ])
  })

  it("rejects a blanket marker and an unknown Atlas rule", () => {
    const scan = scanMarkers("f.sql", [`-- atlas:nolint ${reason}`, `-- atlas:nolint DS999 ${reason}`, `-- squawk-ignore ${reason}`].join("\n"))
    expect(scan.findings.map((f) => [f.line, f.rule])).toEqual([
      [1, "marker-without-rules"],
      [2, "marker-unknown-rule"],
      [3, "marker-without-rules"]
    ])
  })

  it("rejects an Atlas reason that names another rule, which Atlas would silence too", () => {
    const scan = scanMarkers("f.sql", "-- atlas:nolint DS103 -- safe: the destructive part ran last week\nSELECT 1;")
    expect(scan.findings.map((f) => f.rule)).toEqual(["marker-reason-names-rule"])
    expect(scan.findings[0]!.message).toContain("destructive")
  })

  it("knows which markers except the lock_timeout rule for a statement", () => {
    const lineMarker = "-- squawk-ignore require-lock-timeout -- the table is empty in every environment"
    const { markers } = scanMarkers("f.sql", `${lineMarker}\nALTER TABLE t ADD c int;`)
    expect(squawkExcepts(markers, [lineMarker], "require-lock-timeout")).toBe(true)
    expect(squawkExcepts(markers, [], "require-lock-timeout")).toBe(false)
    const fileMarker = "-- squawk-ignore-file require-lock-timeout -- the table is empty in every environment"
    const file = scanMarkers("f.sql", `${fileMarker}\n\nALTER TABLE t ADD c int;`)
    expect(squawkExcepts(file.markers, [], "require-lock-timeout")).toBe(true)
  })
})
