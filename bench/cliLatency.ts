/**
 * How long the installed `control-plane` takes to answer, wall time from
 * start to exit, beside a bare `psql -c 'select 1'` and `node -e 0` measured
 * in the same run: `node bench/cliLatency.ts` (exit code 1 when the goal,
 * `tenants list` <= 0.30 s median, is missed).
 *
 * The CLI is what an operator installs: `npm pack ./cli` (the bundle),
 * installed into an empty project, run through its bin. `tenants list` runs
 * against a scratch database migrated on the server of DATABASE_URL (default
 * the local postgres://postgres@127.0.0.1:5432/postgres; the role needs
 * CREATE DATABASE), dropped at the end. For comparison, the same two commands
 * through the checkout's launcher (the TypeScript sources) are shown too.
 *
 * Each round runs every command once, in a rotating order, after two warm-up
 * rounds (the first run fills Node's compile cache); the figures are medians.
 *
 *   BENCH_ROUNDS   measured rounds (default 15)
 */
import { spawnSync } from "node:child_process"
import path from "node:path"
import { withMigratedDatabases } from "./support/migratedDatabases.ts"
import { projectFile } from "../cli/src/schema/paths.ts"
import { installPacked } from "../test/support/packages.ts"
import { runBenchmark } from "./support/runBenchmark.ts"
import { median } from "./support/stats.ts"

const GOAL_SECONDS = 0.3
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 15)
const WARM_UP_ROUNDS = 2

interface Subject {
  readonly label: string
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly env?: Record<string, string>
}

/** Runs the subject once; its wall time in seconds. A failing run stops the benchmark. */
const timeOnce = (subject: Subject): number => {
  const start = process.hrtime.bigint()
  const result = spawnSync(subject.command, subject.args, {
    env: { ...process.env, ...subject.env },
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8"
  })
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  if (result.status !== 0) throw new Error(`${subject.label} exited ${result.status}: ${result.stderr.split("\n")[0]}`)
  return seconds
}

const main = async (): Promise<boolean> => {
  console.log("cliLatency: packing and installing the CLI, preparing a scratch database")
  const installed = await installPacked("cli")
  try {
    return await withMigratedDatabases(["cp_bench_cli"], async ([url]) => {
    const scratch = { url: url! }
    const bin = path.join(installed.dir, "node_modules", ".bin", "control-plane")
    const checkout = projectFile("cli/bin/control-plane.js")
    const database = { DATABASE_URL: scratch.url }
    const subjects: ReadonlyArray<Subject> = [
      { label: "node -e 0", command: process.execPath, args: ["-e", "0"] },
      { label: "psql -c 'select 1'", command: "psql", args: [scratch.url, "-c", "select 1"] },
      { label: "control-plane --help", command: bin, args: ["--help"] },
      { label: "control-plane tenants list", command: bin, args: ["tenants", "list"], env: database },
      { label: "checkout: control-plane --help", command: process.execPath, args: [checkout, "--help"] },
      { label: "checkout: control-plane tenants list", command: process.execPath, args: [checkout, "tenants", "list"], env: database }
    ]
    const times = new Map<string, Array<number>>(subjects.map((s) => [s.label, []]))
    for (let round = 0; round < WARM_UP_ROUNDS + ROUNDS; round++) {
      // Rotate the order, so no subject always runs right after the same one.
      const order = subjects.map((_, i) => subjects[(i + round) % subjects.length]!)
      for (const subject of order) {
        const seconds = timeOnce(subject)
        if (round >= WARM_UP_ROUNDS) times.get(subject.label)!.push(seconds)
      }
    }
    const psql = median(times.get("psql -c 'select 1'")!)
    console.log(`cliLatency: wall time, median of ${ROUNDS} runs each (the installed CLI is the packed bundle)`)
    for (const subject of subjects) {
      const value = median(times.get(subject.label)!)
      console.log(`  ${subject.label.padEnd(38)} ${value.toFixed(3)} s  (${(value / psql).toFixed(1)}x psql)`)
    }
    const tenantsList = median(times.get("control-plane tenants list")!)
    const met = tenantsList <= GOAL_SECONDS
    console.log(
      `cliLatency: control-plane tenants list ${tenantsList.toFixed(3)} s median, goal <= ${GOAL_SECONDS.toFixed(2)} s: ${met ? "met" : "MISSED"}`
    )
    return met
    })
  } finally {
    await installed.remove()
  }
}

runBenchmark(main)
