/**
 * A schema script interrupted mid-way (Ctrl-C, or the SIGTERM that
 * `control-plane db lint|drift` sends) drops the scratch databases it created
 * before it exits 130 / 143, instead of leaving them on the server.
 *
 * To stop the script at a known point, ATLAS_BIN names a stand-in for Atlas
 * that records the dev database it was handed (a scratch database the script
 * has just created, for real) and then waits. Everything else, the database
 * creation and its cleanup, runs against the real server.
 */
import { spawn } from "node:child_process"
import { once } from "node:events"
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { sql } from "@databases/pg"
import { afterEach, describe, expect, it } from "vitest"
import { dropDatabase, withConnection } from "../../cli/src/schema/database.ts"
import { projectFile } from "../../cli/src/schema/paths.ts"
import { adminUrl, createMigratedTestDatabase, type TestDatabase } from "../support/testDatabase.ts"

const cleanups: Array<() => Promise<void>> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/**
 * A stand-in for Atlas: each call writes "<pid> <ATLAS_DEV_URL> <DATABASE_URL>"
 * to a file of its own in the record folder, then sleeps.
 */
const fakeAtlas = async (): Promise<{ readonly binary: string; readonly records: string }> => {
  const folder = await mkdtemp(path.join(tmpdir(), "cp-interrupt-"))
  cleanups.push(() => rm(folder, { recursive: true, force: true }))
  const records = path.join(folder, "records")
  await mkdir(records)
  const binary = path.join(folder, "atlas")
  await writeFile(
    binary,
    [
      "#!/bin/sh",
      `printf "%s %s %s\\n" "$$" "\${ATLAS_DEV_URL:--}" "\${DATABASE_URL:--}" > "${folder}/$$.tmp"`,
      `mv "${folder}/$$.tmp" "${records}/$$"`,
      "exec sleep 60",
      ""
    ].join("\n")
  )
  await chmod(binary, 0o755)
  return { binary, records }
}

interface AtlasCall {
  readonly pid: number
  /** The scratch databases named by the call's ATLAS_DEV_URL and DATABASE_URL. */
  readonly devDatabase: string | undefined
  readonly scratchDatabases: ReadonlyArray<string>
}

const databaseOf = (url: string): string => decodeURIComponent(new URL(url).pathname.slice(1))

const readCalls = async (records: string): Promise<ReadonlyArray<AtlasCall>> =>
  Promise.all(
    (await readdir(records)).map(async (file) => {
      const [pid, dev, target] = (await readFile(path.join(records, file), "utf8")).trim().split(" ")
      const devDatabase = dev === "-" ? undefined : databaseOf(dev!)
      const named = [devDatabase, target === "-" ? undefined : databaseOf(target!)]
      return { pid: Number(pid), devDatabase, scratchDatabases: named.filter((name) => name !== undefined && /^cp_(gate|drift)_/.test(name)) as Array<string> }
    })
  )

const databaseExists = (name: string): Promise<boolean> =>
  withConnection(adminUrl(), async (db) => (await db.query(sql`SELECT 1 FROM pg_database WHERE datname = ${name}`)).length > 0)

/**
 * Starts cli/src/schema/cli/<name>.ts with the stand-in Atlas, waits until it is
 * mid-way (Atlas called with a dev database), sends `signal`, and returns the
 * scratch databases Atlas was handed and how the script exited.
 */
const interruptMidWay = async (name: string, args: ReadonlyArray<string>, env: Record<string, string>, signal: NodeJS.Signals) => {
  const atlas = await fakeAtlas()
  const script = spawn(process.execPath, [projectFile(`cli/src/schema/cli/${name}.ts`), ...args], {
    cwd: projectFile("."),
    env: { ...process.env, CONTROL_PLANE_ADMIN_URL: adminUrl(), ATLAS_BIN: atlas.binary, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stderr = ""
  script.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
  const exited = once(script, "exit") as Promise<[number | null, NodeJS.Signals | null]>
  // Whatever the outcome: no stand-in left sleeping, no scratch database left behind.
  cleanups.push(async () => {
    if (script.exitCode === null && script.signalCode === null) script.kill("SIGKILL")
    for (const call of await readCalls(atlas.records)) {
      try {
        process.kill(call.pid, "SIGKILL")
      } catch {
        // Already gone.
      }
      for (const database of call.scratchDatabases) await dropDatabase(adminUrl(), database)
    }
  })
  let calls: ReadonlyArray<AtlasCall> = []
  for (let attempt = 0; !calls.some((call) => call.devDatabase !== undefined); attempt++) {
    if (script.exitCode !== null) throw new Error(`the script exited (${script.exitCode}) before it called Atlas: ${stderr}`)
    if (attempt === 600) throw new Error("the script never called Atlas with a dev database")
    await sleep(50)
    calls = await readCalls(atlas.records)
  }
  const devDatabase = calls.find((call) => call.devDatabase !== undefined)!.devDatabase!
  const existedMidWay = await databaseExists(devDatabase)
  script.kill(signal)
  const [code, killedBy] = await exited
  const scratch = (await readCalls(atlas.records)).flatMap((call) => call.scratchDatabases)
  const left = (await Promise.all(scratch.map(async (database) => ((await databaseExists(database)) ? [database] : [])))).flat()
  return { devDatabase, existedMidWay, code, killedBy, stderr, left }
}

describe("interrupted schema scripts drop their scratch databases", () => {
  it("db:drift, sent SIGTERM while Atlas runs: its cp_drift_dev database is dropped, exit 143", async () => {
    const live: TestDatabase = await createMigratedTestDatabase("interrupt_drift")
    cleanups.push(() => live.drop())
    const outcome = await interruptMidWay("drift", [], { DATABASE_URL: live.url }, "SIGTERM")
    expect(outcome.devDatabase).toMatch(/^cp_drift_dev_[0-9a-f]{10}$/)
    expect(outcome.existedMidWay).toBe(true)
    expect(outcome.killedBy).toBeNull()
    expect(outcome.code).toBe(143)
    expect(outcome.stderr).toContain("interrupted (SIGTERM)")
    expect(outcome.left).toEqual([])
  })

  it("db:lint, sent SIGINT (Ctrl-C) while Atlas runs: its cp_gate_dev (and lock-probe) databases are dropped, exit 130", async () => {
    const outcome = await interruptMidWay("lint", ["--latest", "1"], {}, "SIGINT")
    expect(outcome.devDatabase).toMatch(/^cp_gate_dev_[0-9a-f]{10}$/)
    expect(outcome.existedMidWay).toBe(true)
    expect(outcome.killedBy).toBeNull()
    expect(outcome.code).toBe(130)
    expect(outcome.left).toEqual([])
  })
})
