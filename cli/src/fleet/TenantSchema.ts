/**
 * The tenant template (tenant/: atlas.hcl, migrations/, seeds/) applied to one
 * tenant database: read its revision state, apply the pending migrations,
 * run the seeds. This is all provisioning and fleet migrations need of the
 * schema tooling.
 *
 * Migrations go through the schema engine (the Engine service: `migrate
 * status|apply` on the template's project, the database's URL only in the
 * engine's environment; for a fleet run, `session`: one `migrate serve`
 * process for every database, the URLs on its stdin). The engine takes the CLI's advisory lock per
 * database and keeps the revision table (atlas_schema_revisions) in the
 * tenant database: that table, not anything here, says which versions a
 * database has. Seeds are plain SQL on the tenant's own connection.
 *
 * The template is tenant/ of this checkout, or the folder
 * CONTROL_PLANE_TENANT_TEMPLATE names (laid out the same way: atlas.hcl,
 * migrations/, seeds/), e.g. an application's own template beside an installed
 * CLI; its env is ATLAS_ENV's, as for the control plane's project.
 */
import { Config, Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import type { Scope } from "effect"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import path from "node:path"
import { Engine, type EngineError, type MigrationsApplied, type MigrationStatus } from "../engine/Engine.ts"
import { type DbError, sql } from "../library.ts"
import { projectFile } from "../schema/paths.ts"
import { SchemaProject, type SchemaProjectShape } from "../schema/Project.ts"
import { dbOn } from "./dbOn.ts"

/** The tenant template's project folder in this checkout. */
export const tenantProjectRoot = projectFile("tenant")

/** The tenant template folder holds no atlas.hcl. */
export class TenantTemplateMissing extends Schema.TaggedError<TenantTemplateMissing>()("TenantTemplateMissing", {
  folder: Schema.String
}) {
  override get message(): string {
    return `The tenant template folder ${this.folder} has no atlas.hcl: point CONTROL_PLANE_TENANT_TEMPLATE at a folder laid out like tenant/ (atlas.hcl, migrations/, seeds/)`
  }
}

/** status and migrate through one engine process (Engine.migrateSession). */
export interface TemplateSession {
  readonly status: (url: Redacted.Redacted<string>) => Effect.Effect<MigrationStatus, EngineError>
  /** Applies the pending migrations; `beforeApplying` gets the status read under the engine's lock first (MigrateSession.apply). */
  readonly migrate: <E = never, R = never>(
    url: Redacted.Redacted<string>,
    beforeApplying?: (status: MigrationStatus) => Effect.Effect<void, E, R>
  ) => Effect.Effect<MigrationsApplied, EngineError | E, R>
}

export interface TenantSchemaService {
  /** The template's project (root, atlas.hcl, env, migrations/, seeds/). */
  readonly project: SchemaProjectShape
  /** The versions of the template's migrations/, oldest first. */
  readonly versions: ReadonlyArray<string>
  /** The newest version of the template ("" when it has no migration). */
  readonly latest: string
  /** The database's revision state (read-only). */
  readonly status: (url: Redacted.Redacted<string>) => Effect.Effect<MigrationStatus, EngineError>
  /** Applies the template's pending migrations to the database. */
  readonly migrate: (url: Redacted.Redacted<string>) => Effect.Effect<MigrationsApplied, EngineError>
  /**
   * status and migrate for many databases through one engine process, for
   * the scope (a fleet run): no process per database. If the engine cannot
   * be started, every call fails with why.
   */
  readonly session: Effect.Effect<TemplateSession, never, Scope.Scope>
  /** Runs the template's seeds/*.sql in name order on the database (idempotent SQL); gives the files run. */
  readonly seed: (url: Redacted.Redacted<string>) => Effect.Effect<ReadonlyArray<string>, DbError>
}

const sqlFiles = (directory: string): ReadonlyArray<string> =>
  existsSync(directory) ? readdirSync(directory).filter((name) => name.endsWith(".sql")).sort() : []

export class TenantSchema extends Context.Service<TenantSchema, TenantSchemaService>()("control-plane-cli/TenantSchema") {
  /** The template in `root` (tenant/ of this checkout by default; tests use scratch copies), with the Engine still to provide. */
  static readonly layerAtNoDeps = (root: string) =>
    Layer.effect(
      TenantSchema,
      Effect.gen(function*() {
        const engine = yield* Engine
        if (!existsSync(path.join(root, "atlas.hcl"))) return yield* new TenantTemplateMissing({ folder: root })
        // The env of ATLAS_ENV, as for the control plane's project.
        const project = yield* Effect.provide(SchemaProject, SchemaProject.layerFor(root))
        const versions = sqlFiles(project.migrations).map((name) => name.split("_")[0]!)
        // Read once: every tenant database gets the same seeds.
        const seeds = sqlFiles(project.seeds).map((name) => ({
          name,
          sql: readFileSync(path.join(project.seeds, name), "utf8")
        }))

        // One connection, opened for the seeds and closed after them.
        const seed = Effect.fn("TenantSchema.seed")(function*(url: Redacted.Redacted<string>) {
          if (seeds.length === 0) return []
          const db = yield* dbOn(url)
          for (const file of seeds) yield* db.query(sql.__dangerous__rawValue(file.sql))
          return seeds.map((file) => file.name)
        }, Effect.scoped)

        return TenantSchema.of({
          project,
          versions,
          latest: versions.at(-1) ?? "",
          status: (url) => engine.migrateStatus(project, { url }),
          migrate: (url) => engine.migrateApply(project, { url }),
          session: engine.migrateSession(project).pipe(
            Effect.map((session): TemplateSession => ({ status: session.status, migrate: session.apply })),
            Effect.catch((error) => Effect.succeed<TemplateSession>({ status: () => error, migrate: () => error }))
          ),
          seed
        })
      })
    )

  /** The template in `root`, with the engine of this checkout (or CONTROL_PLANE_ENGINE). */
  static readonly layerAt = (root: string) => TenantSchema.layerAtNoDeps(root).pipe(Layer.provide(Engine.layer))

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
