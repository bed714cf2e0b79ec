/**
 * The quick start from a clone in a folder only its owner can enter (mode
 * 0700, like /root or a `mktemp -d` folder): `npm start` and `npm run cli`
 * work. As root the server runs as the postgres user, which cannot enter the
 * clone, so the binaries and the cluster go under /var/lib/control-plane.
 */
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { chmod, copyFile, mkdir, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { quickStartFiles } from "../../cli/src/quickstart/files.ts"
import { relocatedServerDir, relocationRoot } from "../../cli/src/quickstart/server.ts"
import { npm, repository } from "./npm.ts"

const asRoot = process.getuid?.() === 0

describe("a clone in a folder only its owner can enter (mode 0700)", () => {
  let folder: string
  let clone: string

  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), "cp-private-"))
    await chmod(folder, 0o700)
    clone = path.join(folder, "control-plane")
    await mkdir(clone)
    // The repository's files as a clone has them (tracked, plus new ones not ignored);
    // node_modules and the built tools as hard links (the same files, nothing copied).
    for (const file of await repositoryFiles()) {
      await mkdir(path.dirname(path.join(clone, file)), { recursive: true })
      await copyFile(path.join(repository, file), path.join(clone, file))
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

/** The files of the working tree a clone would have: tracked ones and new ones git does not ignore. */
const repositoryFiles = (): Promise<Array<string>> =>
  new Promise((resolve, reject) =>
    execFile("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: repository, maxBuffer: 16 * 1024 * 1024 }, (error, stdout) =>
      error === null
        ? resolve([...new Set(stdout.split("\0"))].filter((file) => file !== "" && existsSync(path.join(repository, file))))
        : reject(error))
  )

/** `source` recreated under `target`: folders made, files hard-linked, symbolic links copied as links. */
const hardLinkTree = (source: string, target: string): Promise<void> =>
  new Promise((resolve, reject) => execFile("cp", ["-al", source, target], (error) => (error === null ? resolve() : reject(error))))

