/**
 * Which files the gate checks: against a base branch in a git checkout
 * (committed or not), the latest N without one, and edited history.
 */
import { execFile } from "node:child_process"
import { appendFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { promisify } from "node:util"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { Effect } from "effect"
import { changedFiles as changedFilesEffect, migrationFiles as migrationFilesEffect, type Selection } from "../../cli/src/schema/gate/changes.ts"
import { runGate } from "../../cli/src/schema/lint.ts"
import { runTools } from "../support/schemaTools.ts"
import { scratchProject, type ScratchProject } from "./scratch.ts"

const run = promisify(execFile)

let scratch: ScratchProject
let savedBaseRef: string | undefined

const git = (...args: ReadonlyArray<string>) =>
  run("git", ["-c", "user.name=gate test", "-c", "user.email=gate@test.invalid", ...args], { cwd: scratch.root })

beforeEach(async () => {
  // On GitHub, pull requests set GITHUB_BASE_REF; these tests name their own base.
  savedBaseRef = process.env["GITHUB_BASE_REF"]
  delete process.env["GITHUB_BASE_REF"]
  scratch = await scratchProject("changes")
})

afterEach(async () => {
  if (savedBaseRef !== undefined) process.env["GITHUB_BASE_REF"] = savedBaseRef
  await scratch.remove()
})

const changedFiles = (directory: string, selection: Selection) => runTools(changedFilesEffect(directory, selection))
const migrationFiles = (directory: string) => runTools(migrationFilesEffect(directory))
const gate = (selection: Selection) => runTools(runGate(selection), scratch.root)

const commitAllOnMain = async () => {
  await git("init", "-q", "-b", "main")
  await git("add", "-A")
  await git("commit", "-q", "-m", "base")
}

describe("choosing the files to check", () => {
  it("without git: the latest N files", async () => {
    const all = await migrationFiles(scratch.directory)
    const changes = await changedFiles(scratch.directory, { kind: "auto", latest: 2 })
    expect(changes.files).toEqual(all)
    expect(changes.firstNew).toBe(all.length - 2)
    expect(changes.description).toContain("not a git checkout")
  })

  it("on the base branch itself: the latest N files", async () => {
    await commitAllOnMain()
    const changes = await changedFiles(scratch.directory, { kind: "auto", latest: 1 })
    expect(changes.files.length - changes.firstNew).toBe(1)
    expect(changes.description).toContain("HEAD is main itself")
  })

  it("on a branch: the files main does not hold, committed or not, and edits to files it does", async () => {
    await commitAllOnMain()
    await git("checkout", "-q", "-b", "feature")
    await scratch.add({ "20300101000000_committed.sql": "SELECT 1;\n" })
    await git("add", "-A")
    await git("commit", "-q", "-m", "one")
    await scratch.add({ "20300101000001_uncommitted.sql": "SELECT 2;\n" })
    const files = await migrationFiles(scratch.directory)
    await appendFile(path.join(scratch.directory, files[0]!), "-- edited after review\n")

    const changes = await changedFiles(scratch.directory, { kind: "auto", latest: 1 })
    expect(changes.files.slice(changes.firstNew)).toEqual(["20300101000000_committed.sql", "20300101000001_uncommitted.sql"])
    expect(changes.edited).toEqual([files[0]])
    expect(changes.description).toContain("against main")
  })

  it("an explicit base that does not exist is an error, not a silent fallback", async () => {
    await commitAllOnMain()
    const error = await runTools(Effect.flip(changedFilesEffect(scratch.directory, { kind: "git-base", base: "origin/nowhere" })))
    expect(error._tag).toBe("UnknownBaseBranch")
    expect(error.message).toBe("git base origin/nowhere does not resolve to a commit here")
  })
})

describe("the gate against a base branch", () => {
  it("reports an edited migration of the base and checks only the new file", async () => {
    await commitAllOnMain()
    await git("checkout", "-q", "-b", "feature")
    const files = await migrationFiles(scratch.directory)
    const seed = files.at(-1)!
    await writeFile(path.join(scratch.directory, seed), "-- emptied\nSELECT 1;\n")
    await scratch.add({ "20300101000000_add_note.sql": `SET lock_timeout = '5s';\nALTER TABLE "control_plane"."tenants" ADD COLUMN "note" text NULL;\n` })

    const report = await gate({ kind: "auto", latest: 1 })
    expect(report.checked).toEqual(["20300101000000_add_note.sql"])
    expect(report.findings.map((f) => `${f.file} ${f.rule}`)).toEqual([`${seed} edited-migration`])
  })

  it("with nothing new, still checks that atlas.sum matches the files", async () => {
    await commitAllOnMain()
    await git("checkout", "-q", "-b", "feature")
    const intact = await gate({ kind: "git-base", base: "main" })
    expect(intact.checked).toEqual([])
    expect(intact.findings).toEqual([])

    const files = await migrationFiles(scratch.directory)
    await appendFile(path.join(scratch.directory, files.at(-1)!), "SELECT 1;\n")
    await git("commit", "-q", "-am", "edit without re-hashing")
    const broken = await gate({ kind: "git-base", base: "main" })
    expect(broken.findings.map((f) => `${f.source} ${f.rule}`).sort()).toEqual(["engine integrity", "gate edited-migration"])
  })
})
