/**
 * The GitHub workflows: valid YAML of the expected shape (every action pinned
 * by full commit SHA with its version beside it, no persisted credentials,
 * minimal permissions), the pull-request gate and the approved deploy, and
 * clean under actionlint (tools/actionlint pins it; `scripts/setup.sh --tests` builds it).
 */
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { readdir, readFile } from "node:fs/promises"
import { promisify } from "node:util"
import { beforeAll, describe, expect, it } from "vitest"
import { parse } from "yaml"
import { projectFile } from "../../cli/src/schema/paths.ts"

const run = promisify(execFile)

interface Step {
  readonly name?: string
  readonly uses?: string
  readonly run?: string
  readonly with?: Record<string, unknown>
  readonly env?: Record<string, string>
}

interface Job {
  readonly "runs-on": string
  readonly permissions?: Record<string, string>
  readonly environment?: string
  readonly needs?: string | ReadonlyArray<string>
  readonly services?: Record<string, { image: string; options?: string }>
  readonly steps: ReadonlyArray<Step>
}

interface Workflow {
  readonly name: string
  readonly on: Record<string, unknown>
  readonly permissions: Record<string, string>
  readonly jobs: Record<string, Job>
}

const directory = projectFile(".github/workflows")
const workflows = new Map<string, { text: string; workflow: Workflow }>()

beforeAll(async () => {
  for (const file of (await readdir(directory)).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const text = await readFile(`${directory}/${file}`, "utf8")
    workflows.set(file, { text, workflow: parse(text) as Workflow })
  }
})

const get = (file: string) => {
  const found = workflows.get(file)
  if (found === undefined) throw new Error(`${file} is missing`)
  return found.workflow
}

const runs = (job: Job): ReadonlyArray<string> => job.steps.flatMap((s) => (s.run === undefined ? [] : [s.run.trim()]))

describe("every workflow", () => {
  it("is a workflow: name, on, jobs with steps", () => {
    expect([...workflows.keys()]).toEqual(["deploy.yml", "pull-request.yml"])
    for (const [file, { workflow }] of workflows) {
      expect(typeof workflow.name, file).toBe("string")
      expect(Object.keys(workflow.on).length, file).toBeGreaterThan(0)
      for (const job of Object.values(workflow.jobs)) {
        expect(job["runs-on"]).toBe("ubuntu-latest")
        expect(job.steps.length).toBeGreaterThan(0)
      }
    }
  })

  it("grants nothing at the top and only contents: read to each job", () => {
    for (const { workflow } of workflows.values()) {
      expect(workflow.permissions).toEqual({})
      for (const job of Object.values(workflow.jobs)) expect(job.permissions).toEqual({ contents: "read" })
    }
  })

  it("pins every action by a full commit SHA, with its version in a comment", () => {
    for (const [file, { text, workflow }] of workflows) {
      const uses = Object.values(workflow.jobs).flatMap((job) => job.steps.flatMap((s) => (s.uses === undefined ? [] : [s.uses])))
      expect(uses.length, file).toBeGreaterThan(0)
      for (const use of uses) expect(use, file).toMatch(/^[\w-]+\/[\w-]+@[0-9a-f]{40}$/)
      const lines = text.split("\n").filter((line) => /^\s*(-\s+)?uses:/.test(line))
      expect(lines.length).toBe(uses.length)
      for (const line of lines) expect(line, file).toMatch(/@[0-9a-f]{40} # v\d+(\.\d+)*$/)
    }
  })

  it("checks out without persisting credentials", () => {
    for (const { workflow } of workflows.values()) {
      for (const job of Object.values(workflow.jobs)) {
        for (const step of job.steps.filter((s) => s.uses?.startsWith("actions/checkout@"))) {
          expect(step.with?.["persist-credentials"]).toBe(false)
        }
      }
    }
  })

  it("sets up Go from engine/go.mod (the schema engine) and Node 24 before npm run setup", () => {
    for (const { workflow } of workflows.values()) {
      for (const job of Object.values(workflow.jobs)) {
        const go = job.steps.find((s) => s.uses?.startsWith("actions/setup-go@"))
        const node = job.steps.find((s) => s.uses?.startsWith("actions/setup-node@"))
        expect(go?.with?.["go-version-file"]).toBe("engine/go.mod")
        expect(node?.with?.["node-version"]).toBe(24)
        expect(runs(job)[0]).toBe("npm run setup")
      }
    }
  })
})

describe("pull-request.yml", () => {
  it("runs on pull requests to main: type-check, migration gate, then the tests, against PostgreSQL 15 with a health check", () => {
    const workflow = get("pull-request.yml")
    expect(Object.keys(workflow.on)).toEqual(["pull_request"])
    const [job] = Object.values(workflow.jobs)
    expect(job!.services?.["postgres"]?.image).toBe("postgres:15")
    expect(job!.services?.["postgres"]?.options).toContain("--health-cmd")
    expect(runs(job!)).toEqual(["npm run setup", "npm run check", "npm run db:lint", "npm test"])
    const checkout = job!.steps.find((s) => s.uses?.startsWith("actions/checkout@"))
    expect(checkout?.with?.["fetch-depth"]).toBe(0)
  })
})

describe("deploy.yml", () => {
  it("on main, gates, then applies the migrations from the DATABASE_URL secret in an approved environment", () => {
    const workflow = get("deploy.yml")
    expect(workflow.on["push"]).toEqual({ branches: ["main"], paths: ["migrations/**"] })
    const deploy = workflow.jobs["deploy"]!
    expect(deploy.needs).toBe("gate")
    expect(deploy.environment).toBe("production")
    const migrate = deploy.steps.find((s) => s.run === "npm run db:migrate")
    expect(migrate?.env).toEqual({ DATABASE_URL: "${{ secrets.DATABASE_URL }}" })
    expect(runs(workflow.jobs["gate"]!)).toContain("npm run db:lint")
  })
})

describe("actionlint", () => {
  it("finds nothing to complain about", async () => {
    // Built by `scripts/setup.sh --tests` (npm test runs it) from the version tools/actionlint pins.
    const binary = projectFile(".bin/actionlint")
    expect(existsSync(binary), ".bin/actionlint is missing: npm test builds it (bash scripts/setup.sh --tests)").toBe(true)
    const { stdout: version } = await run(binary, ["-version"])
    expect(version).toContain("v1.7.12")
    const files = [...workflows.keys()].map((f) => `${directory}/${f}`)
    const { stdout } = await run(binary, ["-no-color", "-oneline", ...files], { cwd: projectFile(".") })
    expect(stdout).toBe("")
  })
})
