/**
 * The quick start end to end, as a person runs it: `npm start` with no
 * DATABASE_URL starts an embedded PostgreSQL in a fresh data folder, applies
 * the schema, lists the tenants and stops the server; `npm run cli` works on
 * the same data; a second `npm start` reuses the cluster and the key ring.
 * With DATABASE_URL set, the quick start uses that server instead.
 */
import { spawn } from "node:child_process"
import { chmod, mkdtemp, readFile, rm, stat } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/testDatabase.ts"

const root = fileURLToPath(new URL("../../", import.meta.url))

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs an npm script from the repository root, as the README says, with a controlled environment. */
const npm = (args: ReadonlyArray<string>, env: Record<string, string>, stdin = ""): Promise<Run> =>
  new Promise((resolve, reject) => {
    const base = { ...process.env }
    for (const name of Object.keys(base)) {
      if (name === "DATABASE_URL" || name.startsWith("CONTROL_PLANE_") || name.startsWith("npm_")) delete base[name]
    }
    const child = spawn("npm", ["--silent", ...args], {
      cwd: root,
      env: { ...base, NO_COLOR: "1", ATLAS_NO_UPDATE_NOTIFIER: "1", ...env },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(stdin)
  })

/** No output may show a connection string or the generated secrets. */
const expectNoSecrets = (run: Run, secrets: ReadonlyArray<string>) => {
  for (const output of [run.stdout, run.stderr]) {
    expect(output).not.toMatch(/postgres(ql)?:\/\//i)
    // Booleans, not toContain: a failing assertion must not print the secret.
    secrets.forEach((secret, index) => expect(output.includes(secret), `output shows secret #${index}`).toBe(false))
  }
}

const modeOf = async (file: string): Promise<number> => (await stat(file)).mode & 0o777

const exists = (file: string): Promise<boolean> => stat(file).then(() => true, () => false)

describe("npm start without DATABASE_URL (embedded PostgreSQL)", () => {
  let dataDir: string
  const env = () => ({ CONTROL_PLANE_DATA_DIR: dataDir })
  const secrets = async () => {
    const password = (await readFile(path.join(dataDir, "postgres-password"), "utf8")).trim()
    const keys = await readFile(path.join(dataDir, "encryption-keys"), "utf8")
    const material = [...keys.matchAll(/:([A-Za-z0-9+/]{43}=)/g)].map((m) => m[1]!)
    expect(material.length).toBeGreaterThan(0)
    return [password, ...material]
  }

  beforeAll(async () => {
    // As root the server runs as the postgres user, which must be able to reach the folder.
    const parent = await mkdtemp(path.join(tmpdir(), "cp-quickstart-"))
    await chmod(parent, 0o755)
    dataDir = path.join(parent, "data")
  })
  afterAll(async () => {
    if (dataDir !== undefined) await rm(path.dirname(dataDir), { recursive: true, force: true })
  })

  let firstKeyRing = ""

  it("first run: creates the cluster and key ring, applies the schema, lists the tenants, stops the server", async () => {
    const run = await npm(["start"], env())
    expect(run.code, run.stderr + run.stdout).toBe(0)
    expect(run.stdout).toMatch(/database\s+embedded PostgreSQL \d+ \(new cluster in .*postgres, 127\.0\.0\.1:\d+\)/)
    expect(run.stdout).toMatch(/keys\s+.*encryption-keys \(generated, mode 0600\)/)
    expect(run.stdout).toMatch(/schema\s+applied \d+ changes/)
    expect(run.stdout).toMatch(/seeds\s+001_system_admin\.sql/)
    expect(run.stdout).toMatch(/system_admin\s+production\s+active/)
    expect(run.stdout).toMatch(/What next:/)
    expect(run.stderr).toBe("")
    expect(await modeOf(path.join(dataDir, "encryption-keys"))).toBe(0o600)
    expect(await modeOf(path.join(dataDir, "postgres-password"))).toBe(0o600)
    // A cleanly stopped server leaves no lock file behind.
    expect(await exists(path.join(dataDir, "postgres", "PG_VERSION"))).toBe(true)
    expect(await exists(path.join(dataDir, "postgres", "postmaster.pid"))).toBe(false)
    firstKeyRing = await readFile(path.join(dataDir, "encryption-keys"), "utf8")
    expectNoSecrets(run, await secrets())
  })

  let databaseId = ""
  const tenantConnection = "postgres://acme_app:quick-start-secret-4711@db.acme.internal:6432/acme"

  it("npm run cli works on the same data, starting the server for the one command", async () => {
    const created = await npm(["run", "cli", "--", "tenants", "create", "acme", "--environment", "development", "--json"], env())
    expect(created.code, created.stderr).toBe(0)
    const tenant = JSON.parse(created.stdout) as { tenantId: string }
    const registered = await npm(
      ["run", "cli", "--", "databases", "register", "--tenant", "acme", "--json"],
      env(),
      `${tenantConnection}\n`
    )
    expect(registered.code, registered.stderr).toBe(0)
    const database = JSON.parse(registered.stdout) as { id: string; tenantId: string }
    expect(database.tenantId).toBe(tenant.tenantId)
    databaseId = database.id
    expectNoSecrets(created, await secrets())
    expectNoSecrets(registered, [...(await secrets()), tenantConnection])
    expect(await exists(path.join(dataDir, "postgres", "postmaster.pid"))).toBe(false)
  })

  it("second run: reuses the cluster, the key ring and the data", async () => {
    const run = await npm(["start"], env())
    expect(run.code, run.stderr + run.stdout).toBe(0)
    expect(run.stdout).toMatch(/reusing the cluster in/)
    expect(run.stdout).toMatch(/encryption-keys \(reused, mode 0600\)/)
    expect(run.stdout).toMatch(/schema\s+already in the desired state/)
    expect(run.stdout).toMatch(/acme\s+development\s+pending/)
    expect(run.stdout).toMatch(/system_admin\s+production\s+active/)
    expect(await readFile(path.join(dataDir, "encryption-keys"), "utf8")).toBe(firstKeyRing)
    expectNoSecrets(run, await secrets())
    // The key ring that encrypted the connection string still decrypts it.
    const revealed = await npm(["run", "cli", "--", "databases", "reveal", databaseId], env())
    expect(revealed.code, revealed.stderr).toBe(0)
    expect(revealed.stdout.trim()).toBe(tenantConnection)
  })

  it("npm run cli on a folder without a cluster says to run npm start first (exit 2)", async () => {
    const run = await npm(["run", "cli", "--", "tenants", "list"], { CONTROL_PLANE_DATA_DIR: path.join(dataDir, "nothing-here") })
    expect(run.code).toBe(2)
    expect(run.stderr.trim()).toMatch(/^error: DATABASE_URL is not set and there is no quick-start database yet: run `npm start` first/)
  })
})

describe("npm start with DATABASE_URL", () => {
  let database: TestDatabase
  let dataDir: string
  beforeAll(async () => {
    database = await createTestDatabase("quickstart")
    dataDir = await mkdtemp(path.join(tmpdir(), "cp-quickstart-env-"))
  })
  afterAll(async () => {
    await database?.drop()
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true })
  })

  it("uses that server: no embedded cluster, schema applied there, tenants listed", async () => {
    const run = await npm(["start"], { DATABASE_URL: database.url, CONTROL_PLANE_DATA_DIR: dataDir })
    expect(run.code, run.stderr + run.stdout).toBe(0)
    expect(run.stdout).toMatch(/database\s+the server of DATABASE_URL \(127\.0\.0\.1:5432, database cp_test_quickstart_\w+\)/)
    expect(run.stdout).toMatch(/system_admin\s+production\s+active/)
    expect(await exists(path.join(dataDir, "postgres"))).toBe(false)
    expectNoSecrets(run, [database.url])
  })
})
