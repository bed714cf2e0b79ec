/**
 * The schema project the tools work on: a folder holding atlas.hcl, the
 * desired state (schema.hcl, routines.hcl), seeds/ and migrations/ with
 * atlas.sum, plus the env of atlas.hcl to use.
 *
 *   ATLAS_ENV  the env block of atlas.hcl (default "local"; CI and the
 *              workflows set "ci")
 *
 * The CLI works on the checkout it belongs to; tests point `layerAt` at a
 * scratch copy, so that they can add migrations without touching the project.
 */
import { Config, Context, Effect, Layer } from "effect"
import path from "node:path"
import { projectRoot } from "./paths.ts"

export interface SchemaProjectShape {
  /** The folder holding atlas.hcl. */
  readonly root: string
  /** The env block of atlas.hcl every engine call runs in. */
  readonly env: string
  readonly config: string
  readonly migrations: string
  readonly seeds: string
  readonly squawkConfig: string
}

/** The paths of a project rooted at `root`, in the layout of this repository. */
export const projectAt = (root: string, env = "local"): SchemaProjectShape => ({
  root,
  env,
  config: path.join(root, "atlas.hcl"),
  migrations: path.join(root, "migrations"),
  seeds: path.join(root, "seeds"),
  squawkConfig: path.join(root, ".squawk.toml")
})

const envName = Config.String("ATLAS_ENV").pipe(
  Config.withDefault("local"),
  Config.map((name) => (name.trim() === "" ? "local" : name.trim()))
)

export class SchemaProject extends Context.Service<SchemaProject, SchemaProjectShape>()("control-plane-cli/SchemaProject") {
  /** The project in `root`, in the env ATLAS_ENV names. */
  static readonly layerFor = (root: string) =>
    Layer.effect(SchemaProject, Effect.map(Effect.orDie(envName), (env) => projectAt(root, env)))

  /** This checkout, in the env ATLAS_ENV names. */
  static readonly layer = SchemaProject.layerFor(projectRoot)

  /** Another project folder (a scratch copy in tests), env "local" unless given. */
  static readonly layerAt = (root: string, env = "local") => Layer.succeed(SchemaProject, projectAt(root, env))
}
