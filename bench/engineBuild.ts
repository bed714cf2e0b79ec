/**
 * How long a cold build of the schema engine takes beside a cold build of the
 * community Atlas CLI it replaces: `node bench/engineBuild.ts` (after
 * `npm run setup`; exit code 1 when the goal, engine <= 0.4x the CLI's time,
 * is missed). It takes several minutes and is not part of `npm run bench`.
 *
 * "Cold" is what a fresh clone on a new machine pays: each build gets an
 * empty GOCACHE and an empty GOMODCACHE, so it downloads every module from
 * the Go module proxy and compiles the standard library and every package
 * (C included) from scratch. The builds run one after the other, each with
 * the whole machine (which other work may share: run it on a quiet machine).
 *
 * Three builds:
 *   - the engine (engine/), as scripts/setup.sh builds it;
 *   - the engine's dependencies without pg_query_go (a throwaway module with
 *     engine/'s go.mod and go.sum whose main imports what the engine imports
 *     except the parser): how much of the engine's time is the parser's C;
 *   - the community CLI (tools/atlas, ariga.io/atlas/cmd/atlas v0.13.1).
 */
import { spawnSync } from "node:child_process"
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"

const GOAL = 0.4
const root = path.resolve(import.meta.dirname, "..")

interface Build {
  readonly label: string
  /** Directory of the Go module to build in. */
  readonly dir: string
  /** Package to build. */
  readonly pkg: string
}

/** A module like engine/ whose main links the engine's imports except pg_query_go. */
const withoutParser = (scratch: string): string => {
  const dir = path.join(scratch, "engine-without-parser")
  mkdirSync(dir)
  copyFileSync(path.join(root, "engine/go.mod"), path.join(dir, "go.mod"))
  copyFileSync(path.join(root, "engine/go.sum"), path.join(dir, "go.sum"))
  writeFileSync(
    path.join(dir, "main.go"),
    `package main

import (
	_ "ariga.io/atlas/schemahcl"
	_ "ariga.io/atlas/sql/migrate"
	_ "ariga.io/atlas/sql/postgres"
	_ "ariga.io/atlas/sql/postgres/postgrescheck"
	_ "ariga.io/atlas/sql/schema"
	_ "ariga.io/atlas/sql/sqlcheck"
	_ "github.com/hashicorp/hcl/v2/hclparse"
	_ "github.com/lib/pq"
	_ "github.com/zclconf/go-cty/cty/function"
	_ "google.golang.org/protobuf/reflect/protoreflect"
)

func main() {}
`
  )
  return dir
}

/** Makes a tree removable: the module cache is written read-only. */
const makeWritable = (dir: string): void => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isSymbolicLink()) continue
    chmodSync(full, entry.isDirectory() ? 0o755 : statSync(full).mode | 0o200)
    if (entry.isDirectory()) makeWritable(full)
  }
}

/** Builds once with empty caches; returns the wall time in seconds. */
const coldBuild = (build: Build, scratch: string): number => {
  const caches = mkdtempSync(path.join(scratch, "caches-"))
  const env = {
    ...process.env,
    GOCACHE: path.join(caches, "gocache"),
    GOMODCACHE: path.join(caches, "gomodcache"),
    GOFLAGS: "-buildvcs=false -modcacherw",
    CGO_ENABLED: "1"
  }
  const out = path.join(caches, "binary")
  const start = process.hrtime.bigint()
  const result = spawnSync("go", ["build", "-trimpath", "-o", out, build.pkg], { cwd: build.dir, env, encoding: "utf8" })
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  if (result.status !== 0) {
    throw new Error(`cold build of ${build.label} failed:\n${result.stderr}`)
  }
  const size = statSync(out).size
  makeWritable(caches)
  rmSync(caches, { recursive: true, force: true })
  console.log(`${build.label.padEnd(44)} ${seconds.toFixed(1).padStart(7)} s   (${(size / 1e6).toFixed(1)} MB binary)`)
  return seconds
}

const main = (): number => {
  const scratch = mkdtempSync(path.join(tmpdir(), "engine-build-bench-"))
  try {
    console.log("cold builds (empty GOCACHE and GOMODCACHE, modules from the proxy), one after the other:")
    const engine = coldBuild({ label: "engine (engine/, with pg_query_go)", dir: path.join(root, "engine"), pkg: "." }, scratch)
    const bare = coldBuild({ label: "engine's dependencies without pg_query_go", dir: withoutParser(scratch), pkg: "." }, scratch)
    const cli = coldBuild({ label: "community Atlas CLI v0.13.1 (tools/atlas)", dir: path.join(root, "tools/atlas"), pkg: "ariga.io/atlas/cmd/atlas" }, scratch)
    const ratio = engine / cli
    console.log(`engine / CLI: ${ratio.toFixed(2)}x (goal <= ${GOAL}x)  ${ratio <= GOAL ? "met" : "MISSED"}`)
    console.log(`without pg_query_go / CLI: ${(bare / cli).toFixed(2)}x; the parser adds about ${(engine - bare).toFixed(0)} s`)
    return ratio <= GOAL ? 0 : 1
  } finally {
    makeWritable(scratch)
    rmSync(scratch, { recursive: true, force: true })
  }
}

process.exitCode = main()
