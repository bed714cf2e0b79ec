/**
 * `atlas migrate lint` on the files the gate checks, read back as findings.
 *
 * Atlas replays the directory on the dev database and runs its analyzers
 * (destructive, data_depend, incompatible, condrop, concurrent_index) with the
 * options of atlas.hcl's `lint` block; `-- atlas:nolint` markers are honoured
 * by Atlas itself. Every diagnostic it reports fails the gate.
 */
import { readFile } from "node:fs/promises"
import path from "node:path"
import { atlas, AtlasFailed, atlasEnvName } from "../atlas.ts"
import { finding, type Finding } from "./findings.ts"
import { analyzerOf } from "./markers.ts"
import { headline, lineOfByteOffset, splitStatements, statementAtLine } from "./statements.ts"

interface AtlasDiagnostic {
  readonly Pos: number
  readonly Text: string
  readonly Code?: string
}

interface AtlasFileReport {
  readonly Name: string
  readonly Error?: string
  readonly Reports?: ReadonlyArray<{ readonly Text: string; readonly Diagnostics?: ReadonlyArray<AtlasDiagnostic> }>
}

const parseReport = (output: string): ReadonlyArray<AtlasFileReport> | undefined => {
  const start = output.indexOf("[")
  if (start === -1) return undefined
  try {
    return JSON.parse(output.slice(start, output.lastIndexOf("]") + 1)) as ReadonlyArray<AtlasFileReport>
  } catch {
    return undefined
  }
}

/**
 * Lints the latest `count` files of `directory` with Atlas, using `devUrl` as
 * the dev database (passed through the environment, never on the command line).
 */
export const atlasLint = async (directory: string, count: number, devUrl: string): Promise<ReadonlyArray<Finding>> => {
  const args = [
    "migrate", "lint", "--env", atlasEnvName(),
    "--dir", `file://${directory}`,
    "--latest", String(count),
    "--format", "{{ json .Files }}"
  ]
  let output: string
  try {
    output = (await atlas(args, { ATLAS_DEV_URL: devUrl })).stdout
  } catch (error) {
    // Atlas exits 1 when a check fails; its JSON report is still on stdout.
    if (!(error instanceof AtlasFailed)) throw error
    output = error.output
    if (parseReport(output) === undefined) throw error
  }
  const files = parseReport(output)
  if (files === undefined) throw new AtlasFailed(args, output, undefined)
  const findings: Array<Finding> = []
  for (const file of files) {
    const isMigration = file.Name.endsWith(".sql")
    const sql = isMigration ? await readFile(path.join(directory, file.Name), "utf8") : ""
    const statements = splitStatements(sql)
    if (file.Error !== undefined && file.Error !== "" && (file.Reports ?? []).length === 0) {
      const rule = isMigration ? "replay" : "integrity"
      findings.push(finding({ file: file.Name, source: "atlas", rule, message: file.Error }))
    }
    for (const report of file.Reports ?? []) {
      for (const diagnostic of report.Diagnostics ?? []) {
        const line = lineOfByteOffset(sql, diagnostic.Pos)
        const statement = statementAtLine(statements, line)
        const code = diagnostic.Code ?? ""
        const analyzer = analyzerOf(code)
        findings.push(
          finding({
            file: file.Name,
            line: statement?.line ?? line,
            statement: statement === undefined ? undefined : headline(statement.text),
            source: "atlas",
            rule: code === "" ? report.Text : analyzer === undefined ? code : `${code} (${analyzer})`,
            message: diagnostic.Text
          })
        )
      }
    }
  }
  return findings
}
