/**
 * `npm run db:lint [-- --git-base <ref> | --latest <n> | --all] [--dir <path>]`:
 * the migration safety gate on the migration files that are new on this
 * branch. Prints a report naming file, statement and rule for every finding.
 * Exit 0 clean, 1 violations, 2 usage error.
 */
import { existsSync } from "node:fs"
import path from "node:path"
import { defaultLatest, formatGateReport, runGate, type Selection } from "../lint.ts"
import { UnknownBaseBranch } from "../gate/changes.ts"
import { adminUrlFromEnvironment, InvalidAdminUrl } from "../gate/server.ts"
import { projectFile } from "../paths.ts"
import { runScript, UsageError } from "./common.ts"

const usage = "usage: npm run db:lint [-- --git-base <ref> | --latest <n> | --all] [--dir <migration directory>]"

interface Arguments {
  readonly selection: Selection
  readonly directory: string
}

const parseArguments = (args: ReadonlyArray<string>): Arguments => {
  let selection: Selection | undefined
  let directory = projectFile("migrations")
  const choose = (next: Selection) => {
    if (selection !== undefined) throw new UsageError(`--git-base, --latest and --all exclude each other\n${usage}`)
    selection = next
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    const value = () => {
      const v = args[++i]
      if (v === undefined || v.startsWith("--")) throw new UsageError(`${arg} needs a value\n${usage}`)
      return v
    }
    if (arg === "--all") choose({ kind: "all" })
    else if (arg === "--git-base") choose({ kind: "git-base", base: value() })
    else if (arg === "--latest") {
      const n = Number(value())
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--latest needs a whole number of files, at least 1\n${usage}`)
      choose({ kind: "latest", latest: n })
    } else if (arg === "--dir") directory = path.resolve(value())
    else throw new UsageError(`unknown argument ${arg}\n${usage}`)
  }
  if (!existsSync(directory)) throw new UsageError(`no migration directory at ${directory}\n${usage}`)
  return { selection: selection ?? { kind: "auto", latest: defaultLatest }, directory }
}

class GateFailed extends Error {}

runScript(async () => {
  const { selection, directory } = parseArguments(process.argv.slice(2))
  let adminUrl: string
  try {
    adminUrl = adminUrlFromEnvironment()
  } catch (error) {
    throw error instanceof InvalidAdminUrl ? new UsageError(error.message) : error
  }
  const report = await runGate({ directory, selection, adminUrl }).catch((error: unknown) => {
    throw error instanceof UnknownBaseBranch ? new UsageError(error.message) : error
  })
  const label = path.relative(process.cwd(), directory) || "."
  console.log(formatGateReport(report, label))
  if (report.findings.length > 0) {
    throw new GateFailed(`the migration gate found ${report.findings.length} violation(s)`)
  }
})
