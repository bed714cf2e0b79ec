/**
 * The tenant template (tenant/: atlas.hcl, migrations/, seeds/) applied to one
 * tenant database: read its revision state, apply the pending migrations,
 * run the seeds. This is all provisioning and fleet migrations need of the
 * schema engine.
 *
 * Migrations go through the schema engine (engine/, built into
 * .bin/control-plane-engine): `migrate status|apply --config tenant/atlas.hcl
 * --env <ATLAS_ENV> --format json`, the database's URL only in the child's
 * environment (DATABASE_URL, which tenant/atlas.hcl reads with getenv). The
 * engine takes the CLI's advisory lock per database and keeps the revision
 * table (atlas_schema_revisions) in the tenant database: that table, not
 * anything here, says which versions a database has.
 *
 * The template is tenant/ of this checkout, or the folder
 * CONTROL_PLANE_TENANT_TEMPLATE names (laid out the same way: atlas.hcl,
 * migrations/, seeds/), e.g. an application's own template beside an installed
 * CLI. The engine is CONTROL_PLANE_ENGINE, else the checkout's .bin/.
 *
 * Merge note: the Engine service of the schema tooling (issue 8) runs the same
 * verbs; once it is on main, `status`/`migrate` become
 * `engine.migrateStatus/migrateApply(tenantProject, { url })` and the private
 * runner below and EngineError go (its reasons are the engine's own, the same
 * union). Seeds stay here: they are plain SQL on the tenant's connection.
 */
import { Config, Context, Effect, Layer, Option, Redacted, Schema, Stream } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import path from "node:path"
import { type DbError, sql } from "../library.ts"
import { projectFile, projectRoot } from "../schema/paths.ts"
import { dbOn } from "./dbOn.ts"

/** The tenant template's project folder. */
export const tenantProjectRoot = projectFile("tenant")

export const EngineErrorReason = Schema.Literals([
  "NotInstalled",
  "Usage",
  "ConfigInvalid",
  "SchemaInvalid",
  "ServerUnreachable",
  "AuthFailed",
  "UnsupportedServer",
  "PermissionDenied",
  "ChecksumMismatch",
  "MigrationFailed",
  "PlanFailed",
  "LockTimeout",
  "DirtyDatabase",
  "Internal"
])
export type EngineErrorReason = typeof EngineErrorReason.Type

/** The engine failed, or could not be run; `message` is the engine's one sentence, which names no secret. */
export class EngineError extends Schema.TaggedError<EngineError>()("EngineError", {
  reason: EngineErrorReason,
  message: Schema.String,
  /** The migration file concerned (ChecksumMismatch, MigrationFailed), when the engine named one. */
  file: Schema.optionalKey(Schema.String)
}) {}

const MigrationStatus = Schema.Struct({
  current: Schema.String,
  next: Schema.String,
  pending: Schema.Array(Schema.String),
  applied: Schema.Number,
  partial: Schema.NullOr(
    Schema.Struct({ version: Schema.String, applied: Schema.Number, total: Schema.Number, error: Schema.String })
  )
})
/** A tenant database's revision state: `current` is the newest fully applied version ("" for none). */
export type MigrationStatus = typeof MigrationStatus.Type

const MigrationsApplied = Schema.Struct({
  applied: Schema.Array(Schema.Struct({
    version: Schema.String,
    description: Schema.String,
    statements: Schema.Number,
    durationMs: Schema.Number
  })),
  current: Schema.String,
  pending: Schema.Number
})
/** What `migrate` did: the files applied now, oldest first, and the version the database is at. */
export type MigrationsApplied = typeof MigrationsApplied.Type

const Failure = Schema.Struct({
  error: Schema.Struct({ reason: Schema.String, message: Schema.String, file: Schema.optionalKey(Schema.String) })
})

export interface TenantSchemaService {
  /** The versions of tenant/migrations, oldest first. */
  readonly versions: ReadonlyArray<string>
  /** The newest version of the template ("" when it has no migration). */
  readonly latest: string
  /** The database's revision state (read-only). */
  readonly status: (url: Redacted.Redacted<string>) => Effect.Effect<MigrationStatus, EngineError>
  /** Applies the template's pending migrations to the database. */
  readonly migrate: (url: Redacted.Redacted<string>) => Effect.Effect<MigrationsApplied, EngineError>
  /** Runs tenant/seeds/*.sql in name order on the database (idempotent SQL); gives the files run. */
  readonly seed: (url: Redacted.Redacted<string>) => Effect.Effect<ReadonlyArray<string>, DbError>
}

const engineBinaryName = "control-plane-engine"

/** lib/pq, under the engine, insists on TLS unless told otherwise: loopback URLs that say nothing get sslmode=disable. */
export const engineUrl = (url: Redacted.Redacted<string>): Redacted.Redacted<string> => {
  const text = Redacted.value(url)
  if (!URL.canParse(text)) return url
  const parsed = new URL(text)
  const loopback = ["localhost", "127.0.0.1", "[::1]", ""].includes(parsed.hostname)
  if (!loopback || parsed.searchParams.has("sslmode")) return url
  parsed.searchParams.set("sslmode", "disable")
  return Redacted.make(parsed.toString())
}

const sqlFiles = (directory: string): ReadonlyArray<string> =>
  existsSync(directory) ? readdirSync(directory).filter((name) => name.endsWith(".sql")).sort() : []

const decodeJson = Schema.decodeUnknownEffect(Schema.fromJsonString(Schema.Unknown))

/** The tenant template folder holds no atlas.hcl. */
export class TenantTemplateMissing extends Schema.TaggedError<TenantTemplateMissing>()("TenantTemplateMissing", {
  folder: Schema.String
}) {
  override get message(): string {
    return `The tenant template folder ${this.folder} has no atlas.hcl: point CONTROL_PLANE_TENANT_TEMPLATE at a folder laid out like tenant/ (atlas.hcl, migrations/, seeds/)`
  }
}
const isReason = Schema.is(EngineErrorReason)

export class TenantSchema extends Context.Service<TenantSchema, TenantSchemaService>()("control-plane-cli/TenantSchema") {
  /** The template in `root` (tenant/ of this checkout by default; tests use scratch copies). */
  static readonly layerAt = (root: string) =>
    Layer.effect(
      TenantSchema,
      Effect.gen(function*() {
        const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
        const env = yield* Config.String("ATLAS_ENV").pipe(
          Config.withDefault("local"),
          Config.map((name) => (name.trim() === "" ? "local" : name.trim())),
          Effect.orDie
        )
        const configured = yield* Config.option(Config.String("CONTROL_PLANE_ENGINE")).pipe(Effect.orDie)
        const binary = Option.match(configured, {
          onSome: (given) => path.resolve(given),
          onNone: () => path.join(projectRoot, ".bin", engineBinaryName)
        })
        const config = path.join(root, "atlas.hcl")
        if (!existsSync(config)) return yield* new TenantTemplateMissing({ folder: root })
        const versions = sqlFiles(path.join(root, "migrations")).map((name) => name.split("_")[0]!)
        // Read once: every tenant database gets the same seeds.
        const seeds = sqlFiles(path.join(root, "seeds")).map((name) => ({
          name,
          sql: readFileSync(path.join(root, "seeds", name), "utf8")
        }))

        /** Runs one engine verb on `url` and decodes its JSON document with `schema`. */
        const runVerb = <S extends Schema.Codec<unknown, unknown, never, never>>(
          schema: S,
          verb: ReadonlyArray<string>,
          url: Redacted.Redacted<string>
        ): Effect.Effect<S["Type"], EngineError> =>
          Effect.gen(function*() {
            if (!existsSync(binary)) {
              return yield* new EngineError({
                reason: "NotInstalled",
                message: `the schema engine is not installed: run \`npm run setup\` (it builds .bin/${engineBinaryName})`
              })
            }
            const handle = yield* spawner.spawn(
              ChildProcess.make(binary, [...verb, "--config", config, "--env", env, "--format", "json"], {
                cwd: root,
                env: { DATABASE_URL: engineUrl(url) },
                extendEnv: false
              })
            )
            const [stdout, code] = yield* Effect.all(
              [Stream.mkString(Stream.decodeText(handle.stdout)), handle.exitCode, Stream.runDrain(handle.stderr)],
              { concurrency: "unbounded" }
            )
            const internal = (message: string) => new EngineError({ reason: "Internal", message })
            const document = yield* decodeJson(stdout).pipe(
              Effect.mapError(() => internal(`the schema engine exited with code ${code} without a JSON report`))
            )
            if (Number(code) === 0) {
              return yield* Schema.decodeUnknownEffect(schema)(document).pipe(
                Effect.mapError(() => internal("the schema engine printed an unexpected report"))
              )
            }
            const failure = yield* Schema.decodeUnknownEffect(Failure)(document).pipe(
              Effect.mapError(() => internal(`the schema engine failed with exit code ${code}`))
            )
            return yield* new EngineError({
              reason: isReason(failure.error.reason) ? failure.error.reason : "Internal",
              message: failure.error.message,
              ...(failure.error.file === undefined ? {} : { file: failure.error.file })
            })
          }).pipe(
            Effect.scoped,
            Effect.catchTag("PlatformError", () =>
              Effect.fail(new EngineError({ reason: "Internal", message: "the schema engine could not be run" })))
          )

        // One connection, opened for the seeds and closed after them.
        const seed = Effect.fn("TenantSchema.seed")(function*(url: Redacted.Redacted<string>) {
          if (seeds.length === 0) return []
          const db = yield* dbOn(url)
          for (const file of seeds) yield* db.query(sql.__dangerous__rawValue(file.sql))
          return seeds.map((file) => file.name)
        }, Effect.scoped)

        return TenantSchema.of({
          versions,
          latest: versions.at(-1) ?? "",
          status: (url) => runVerb(MigrationStatus, ["migrate", "status"], url).pipe(Effect.withSpan("TenantSchema.status")),
          migrate: (url) => runVerb(MigrationsApplied, ["migrate", "apply"], url).pipe(Effect.withSpan("TenantSchema.migrate")),
          seed
        })
      })
    ).pipe(Layer.provide(NodeServices.layer))

  /** The template in CONTROL_PLANE_TENANT_TEMPLATE, else tenant/ of this checkout. */
  static readonly layer = Layer.unwrap(
    Config.option(Config.String("CONTROL_PLANE_TENANT_TEMPLATE")).pipe(
      Effect.orDie,
      Effect.map((configured) =>
        TenantSchema.layerAt(
          Option.match(configured, {
            onNone: () => tenantProjectRoot,
            onSome: (folder) => (folder.trim() === "" ? tenantProjectRoot : path.resolve(folder.trim()))
          })
        )
      )
    )
  )
}
