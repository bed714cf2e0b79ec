/**
 * The migration safety gate (`npm run db:lint`): every migration file that is
 * new on this branch must pass
 *
 *   1. `atlas migrate lint` with atlas.hcl's `lint` block (destructive and
 *      data-dependent changes, non-concurrent index builds, ... are errors),
 *      replayed on a scratch dev database;
 *   2. squawk with the committed .squawk.toml;
 *   3. require-lock-timeout: a statement that locks a table created by an
 *      earlier migration runs with `lock_timeout` set (observed on a scratch
 *      database, see gate/lockProbe.ts);
 *   4. every exception marker (`-- atlas:nolint`, `-- squawk-ignore`) names its
 *      rules and carries a written reason;
 *   5. no file the base branch already holds was edited.
 *
 * The result is a list of findings, each naming file, statement and rule.
 */
import { readFile } from "node:fs/promises"
import path from "node:path"
import { atlas, AtlasFailed, atlasEnvName } from "./atlas.ts"
import { atlasUrl, withScratchDatabase } from "./database.ts"
import { atlasLint } from "./gate/atlasLint.ts"
import { changedFiles, type Selection } from "./gate/changes.ts"
import { finding, formatFindings, type Finding } from "./gate/findings.ts"
import { atlasError, probeLockTimeouts } from "./gate/lockProbe.ts"
import { scanMarkers } from "./gate/markers.ts"
import { squawkLint } from "./gate/squawk.ts"

export type { Selection } from "./gate/changes.ts"
export type { Finding } from "./gate/findings.ts"

/** Files checked when no base branch can be compared with: the newest one, as `atlas migrate lint --latest 1`. */
export const defaultLatest = 1

export interface GateOptions {
  /** Absolute path of the migration directory. */
  readonly directory: string
  readonly selection: Selection
  /** A role on the server where the scratch databases are created (see gate/server.ts). */
  readonly adminUrl: string
}

export interface GateReport {
  /** How the files were chosen. */
  readonly description: string
  /** The files that were checked, in version order. */
  readonly checked: ReadonlyArray<string>
  readonly findings: ReadonlyArray<Finding>
}

/** With nothing new to lint, still prove the directory is intact: atlas.sum matches and every file replays. */
const validateDirectory = (adminUrl: string, directory: string): Promise<ReadonlyArray<Finding>> =>
  withScratchDatabase(adminUrl, "cp_gate_dev", async (dev) => {
    try {
      await atlas(["migrate", "validate", "--env", atlasEnvName(), "--dir", `file://${directory}`], { ATLAS_DEV_URL: atlasUrl(dev.url) })
      return []
    } catch (error) {
      if (!(error instanceof AtlasFailed)) throw error
      return [finding({ file: "atlas.sum", source: "atlas", rule: "integrity", message: atlasError(error.output) })]
    }
  })

/**
 * Like Promise.all, but waits for every check to finish before failing, so that
 * each drops its scratch database before the process may exit.
 */
const allSettled = async <T extends ReadonlyArray<unknown>>(
  checks: { readonly [K in keyof T]: Promise<T[K]> }
): Promise<T> => {
  const results = await Promise.allSettled(checks)
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected")
  if (failed !== undefined) throw failed.reason
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T
}

/** Runs every check of the gate on the new files of `options.directory`. */
export const runGate = async (options: GateOptions): Promise<GateReport> => {
  const { directory, adminUrl } = options
  const changes = await changedFiles(directory, options.selection)
  const checked = changes.files.slice(changes.firstNew)
  const findings: Array<Finding> = changes.edited.map((file) =>
    finding({
      file,
      source: "gate",
      rule: "edited-migration",
      message: "this file is already on the base branch and was changed: reviewed migrations are immutable, add a new one"
    })
  )
  if (checked.length === 0) {
    findings.push(...(await validateDirectory(adminUrl, directory)))
    return { description: changes.description, checked, findings }
  }
  for (const file of checked) {
    findings.push(...scanMarkers(file, await readFile(path.join(directory, file), "utf8")).findings)
  }
  const [fromAtlas, fromSquawk, fromProbe] = await allSettled([
    withScratchDatabase(adminUrl, "cp_gate_dev", (dev) => atlasLint(directory, checked.length, atlasUrl(dev.url))),
    squawkLint(directory, checked),
    probeLockTimeouts(adminUrl, directory, changes.files, changes.firstNew)
  ])
  // A file that does not replay is reported by Atlas already; the probe's own report of it would repeat it.
  const replayed = new Set(fromAtlas.filter((f) => f.rule === "replay").map((f) => f.file))
  findings.push(...fromAtlas, ...fromSquawk, ...fromProbe.filter((f) => !(f.rule === "replay" && replayed.has(f.file))))
  return { description: changes.description, checked, findings }
}

/** The report `npm run db:lint` prints. `directoryLabel` is how the directory is named in it. */
export const formatGateReport = (report: GateReport, directoryLabel: string): string => {
  const lines = [`migration gate: ${report.description}`]
  if (report.checked.length > 0) lines.push(`checked: ${report.checked.join(", ")}`)
  lines.push("")
  if (report.findings.length === 0) {
    lines.push(
      report.checked.length === 0
        ? "passed: no new migration files; atlas.sum and the directory are intact"
        : `passed: ${report.checked.length} file(s), no findings (atlas migrate lint, squawk, require-lock-timeout, markers)`
    )
    return lines.join("\n")
  }
  lines.push(formatFindings(directoryLabel, report.findings))
  const files = new Set(report.findings.map((f) => f.file)).size
  lines.push(`failed: ${report.findings.length} violation(s) in ${files} file(s)`)
  lines.push("A deliberate exception needs a marker with a reason, e.g. `-- atlas:nolint DS103 -- <why it is safe>`")
  lines.push("or `-- squawk-ignore ban-drop-column -- <why it is safe>` on the line above the statement.")
  return lines.join("\n")
}
