/**
 * An interrupted `db lint` drops the scratch databases it created: in
 * process, interrupting the gate's fiber closes the scopes that own them; as
 * a process, Ctrl-C (SIGINT) becomes that interruption (NodeRuntime), then
 * the exit code is 130. No signal handler of ours is involved.
 *
 * Each test works through a role of its own on the scratch-database server,
 * so the databases it left behind, if any, are exactly those that role owns.
 */
import { spawn } from "node:child_process"
import { once } from "node:events"
import { randomBytes } from "node:crypto"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { sql } from "@databases/pg"
import { Effect, Fiber, Layer, Redacted } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { Engine } from "../../cli/src/engine/Engine.ts"
import { runGate } from "../../cli/src/schema/lint.ts"
import { projectFile } from "../../cli/src/schema/paths.ts"
import { ScratchDatabase } from "../../cli/src/schema/ScratchDatabase.ts"
import { adminUrl, schemaTools } from "../support/schemaTools.ts"
import { runSql, withConnection } from "../support/testDatabase.ts"

const roles: Array<string> = []

afterEach(async () => {
  for (const role of roles.splice(0)) {
    // Whatever a failed test left: its databases first, then the role.
    const owned = await ownedBy(role)
    for (const name of owned) await runSql(adminUrl(), `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
    await runSql(adminUrl(), `DROP ROLE IF EXISTS ${role}`)
  }
})

/** A superuser role of this test (the lock probe needs one) and the admin URL through it. */
const testRole = async (): Promise<string> => {
  const role = `cp_test_interrupt_${randomBytes(4).toString("hex")}`
  await runSql(adminUrl(), `CREATE ROLE ${role} LOGIN SUPERUSER`)
  roles.push(role)
  const url = new URL(adminUrl())
  url.username = role
  url.password = ""
  return url.toString()
}

const ownedBy = (role: string): Promise<ReadonlyArray<string>> =>
  withConnection(adminUrl(), async (db) =>
    (await db.query(sql`SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = ${role}`)).map(
      (row) => row.datname as string
    ))

const roleOf = (url: string): string => new URL(url).username

/** Waits until the role owns a database (the gate is mid-way), at most 30 s. */
const waitForScratch = async (role: string): Promise<ReadonlyArray<string>> => {
  for (let attempt = 0; attempt < 600; attempt++) {
    const owned = await ownedBy(role)
    if (owned.length > 0) return owned
    await sleep(50)
  }
  throw new Error("no scratch database appeared")
}

describe("an interrupted db lint drops its scratch databases", () => {
  it("in process: interrupting the gate's fiber", async () => {
    const admin = await testRole()
    const layer = Layer.merge(schemaTools(), ScratchDatabase.layerAt(Redacted.make(admin)))
    const fiber = Effect.runFork(runGate({ kind: "all" }).pipe(Effect.provide(layer)))
    const midWay = await waitForScratch(roleOf(admin))
    expect(midWay.every((name) => /^cp_gate_(dev|probe)_[0-9a-f]{10}$/.test(name))).toBe(true)
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(await ownedBy(roleOf(admin))).toEqual([])
  })

  it("as a process: Ctrl-C (SIGINT) drops them, then it exits 130", async () => {
    const admin = await testRole()
    const child = spawn(process.execPath, [projectFile("cli/src/main.ts"), "db", "lint", "--all"], {
      cwd: projectFile("."),
      env: { ...process.env, CONTROL_PLANE_ADMIN_URL: admin },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>
    try {
      await waitForScratch(roleOf(admin))
      child.kill("SIGINT")
      const [code, signal] = await exited
      expect(signal).toBeNull()
      expect(code).toBe(130)
      expect(await ownedBy(roleOf(admin))).toEqual([])
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    }
  })
})

describe("an interrupted engine", () => {
  it("ends even when its report is bigger than a pipe's buffer: its pipes are drained until it exits", async () => {
    // The engine traps SIGTERM to stop its database work, and writes its one
    // JSON document at the end: megabytes of it (20,000 statements, parsed in
    // about 0.7 s). Had the interrupted call stopped reading, the write would
    // block and only the spawn's SIGKILL, 3 s later, would end it; with
    // neither, the interruption never returned. The test's timeout is what
    // catches a hang.
    const folder = await mkdtemp(path.join(tmpdir(), "cp-engine-interrupt-"))
    try {
      const file = path.join(folder, "big.sql")
      await writeFile(file, "SELECT 1;\n".repeat(20_000))
      const fiber = Effect.runFork(Engine.use((engine) => engine.statements([file])).pipe(Effect.provide(schemaTools())))
      await sleep(100) // the engine has started and trapped its signals, and is still parsing
      await Effect.runPromise(Fiber.interrupt(fiber))
      expect(fiber.pollUnsafe()?._tag).toBe("Failure")
    } finally {
      await rm(folder, { recursive: true, force: true })
    }
  }, 30_000)
})
