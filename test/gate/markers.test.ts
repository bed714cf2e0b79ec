/**
 * The pure parts of the gate, without a database: finding statements in a
 * migration file, and judging exception markers.
 */
import { describe, expect, it } from "vitest"
import { scanMarkers, squawkExcepts } from "../../cli/src/schema/gate/markers.ts"
import { lineOfByteOffset, splitStatements, statementAtLine } from "../../cli/src/schema/gate/statements.ts"

describe("splitStatements", () => {
  it("ends statements at semicolons outside strings, identifiers, comments and dollar quotes", () => {
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
    const statements = splitStatements(sql)
    expect(statements.map((s) => [s.line, s.endLine])).toEqual([[4, 4], [5, 5], [6, 11], [12, 12]])
    expect(statements[0]!.comments).toEqual(["-- a comment; with a semicolon"])
    expect(statements[2]!.text.endsWith("$body$;")).toBe(true)
    expect(statementAtLine(statements, 8)?.line).toBe(6)
    expect(statementAtLine(statements, 2)).toBeUndefined()
  })

  it("counts Atlas's byte offsets in UTF-8", () => {
    const sql = "-- é\nSELECT 1;\n"
    expect(lineOfByteOffset(sql, Buffer.byteLength("-- é\n"))).toBe(2)
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
