/**
 * The services behind every `db` command: the engine, the scratch-database
 * server, squawk and git, on the project of this checkout (or the one whose
 * atlas.hcl --config names). Everything runs in this process; nothing spawns
 * one of our own scripts.
 */
import { Effect, FileSystem, Layer, Option, Schema } from "effect"
import { Flag } from "effect/cli"
import path from "node:path"
import { Engine } from "../../engine/Engine.ts"
import { Git } from "../../schema/Git.ts"
import { SchemaProject } from "../../schema/Project.ts"
import { ScratchDatabase } from "../../schema/ScratchDatabase.ts"
import { Squawk } from "../../schema/Squawk.ts"
import { UsageError } from "../../failure.ts"

const services = Layer.mergeAll(Engine.layer, ScratchDatabase.layer, Squawk.layer, Git.layer)

/** `--config`: work on another project, the folder of this atlas.hcl. */
export const configFlag = Flag.String("config").pipe(
  Flag.withMetavar("ATLAS_HCL"),
  Flag.withDescription("Work on the project of this atlas.hcl (its schema.hcl, migrations/ and .squawk.toml beside it) instead of this checkout."),
  Flag.optional
)

/** `--config` must name a file: a folder or a missing path would quietly stand for the folder above or beside it. */
const checkConfigFile = (file: string) =>
  FileSystem.FileSystem.use((fs) => fs.stat(path.resolve(file))).pipe(
    Effect.catch(() => Effect.fail(new UsageError({ message: `--config ${JSON.stringify(file)}: no such file` }))),
    Effect.flatMap((info) =>
      info.type === "File"
        ? Effect.void
        : Effect.fail(new UsageError({ message: `--config ${JSON.stringify(file)} is not a file: give the project's atlas.hcl` })))
  )

/** Provides the schema tools to a command's handler, on the project `config` names (default: this checkout). */
export const withSchemaTools = (config: Option.Option<string> = Option.none()) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) => {
    const project = Option.match(config, {
      onNone: () => SchemaProject.layer,
      onSome: (file) => SchemaProject.layerFor(path.dirname(path.resolve(file)))
    })
    const checked = Option.match(config, { onNone: () => effect, onSome: (file) => Effect.andThen(checkConfigFile(file), effect) })
    return checked.pipe(Effect.provide(Layer.merge(services, project)))
  }

/** The report was printed; the command still fails (exit 1) with this one line. */
export class SchemaCheckFailed extends Schema.TaggedError<SchemaCheckFailed>()("SchemaCheckFailed", {
  message: Schema.String
}) {}
