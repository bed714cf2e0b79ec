/**
 * atlas.hcl: the named environments local (laptops, `npm run db:*`) and ci
 * (.ci/run and the workflows set ATLAS_ENV=ci) must plan, lint and apply
 * alike, and take every URL from the environment.
 */
import { describe, expect, it } from "vitest"
import { Engine } from "../../cli/src/engine/Engine.ts"
import { projectFile } from "../../cli/src/schema/paths.ts"
import { runTools } from "../support/schemaTools.ts"

/** atlas.hcl's syntax as JSON, as the schema engine reads it for the routines renderer (`hcl json`). */
const config = async () => {
  const [body] = await runTools(Engine.use((engine) => engine.hclJson([projectFile("atlas.hcl")])))
  return body as {
    env: Record<string, ReadonlyArray<Record<string, unknown>>>
    variable: Record<string, ReadonlyArray<{ default: string }>>
  }
}

describe("atlas.hcl", () => {
  it("defines the environments local and ci, and they are the same but for their name", async () => {
    const { env } = await config()
    expect(Object.keys(env).sort()).toEqual(["ci", "local"])
    expect(env["ci"]).toEqual(env["local"])
  })

  it("takes the database and dev database URLs from the environment, never from the file", async () => {
    const { env, variable } = await config()
    expect(variable["url"]?.[0]?.default).toBe('${getenv("DATABASE_URL")}')
    expect(variable["dev_url"]?.[0]?.default).toBe('${getenv("ATLAS_DEV_URL")}')
    expect(env["local"]?.[0]).toMatchObject({ url: "${var.url}", dev: "${var.dev_url}" })
  })

  it("never plans to drop a schema it does not manage, such as public", async () => {
    const { env } = await config()
    expect(env["local"]?.[0]).toMatchObject({ diff: [{ skip: [{ drop_schema: true }] }] })
  })
})
