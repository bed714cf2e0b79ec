/**
 * Scratch databases: empty databases the schema tools create for a moment and
 * drop again (the engine's dev database, the lint gate's lock probe, the
 * desired state that drift compares with, the databases of the tests). They
 * live on one server, named by one setting, read here and nowhere else:
 *
 *   CONTROL_PLANE_ADMIN_URL  a role on the scratch-database server that may
 *                            CREATE DATABASE (db:lint's lock probe also needs
 *                            a superuser, for its event triggers)
 *                            (default postgres://postgres@127.0.0.1:5432/postgres,
 *                            the local server of a laptop or CI machine)
 *
 * `make` creates one for as long as the caller's scope is open: closing the
 * scope drops it, whether the work succeeded, failed or was interrupted
 * (Ctrl-C), so nothing is left behind on the server.
 */
import { Config, Context, Effect, Layer, Redacted, Schema, type Scope } from "effect"
import { randomBytes } from "node:crypto"
import { type PostgresError, quoteIdent, withConnection } from "./postgres.ts"

export const adminUrlVariable = "CONTROL_PLANE_ADMIN_URL"

/** The default scratch-database server: the local PostgreSQL as its superuser. */
export const defaultAdminUrl = "postgres://postgres@127.0.0.1:5432/postgres"

export const ScratchDatabaseErrorReason = Schema.Literals(["InvalidUrl", "ServerUnreachable", "PermissionDenied", "Failed"])

/** A scratch database could not be created or dropped; one sentence naming the setting, never its value. */
export class ScratchDatabaseError extends Schema.TaggedError<ScratchDatabaseError>()("ScratchDatabaseError", {
  reason: ScratchDatabaseErrorReason,
  message: Schema.String
}) {}

/** The scratch-database server, as configured (CONTROL_PLANE_ADMIN_URL or the default). */
export const adminUrlConfig: Config.Config<Redacted.Redacted<string>> = Config.Redacted(adminUrlVariable).pipe(
  Config.withDefault(Redacted.make(defaultAdminUrl)),
  Config.map((url) => (Redacted.value(url).trim() === "" ? Redacted.make(defaultAdminUrl) : url))
)

export interface Scratch {
  readonly name: string
  readonly url: Redacted.Redacted<string>
}

export interface ScratchDatabaseService {
  /**
   * Creates an empty database `<prefix>_<random>` (a copy of `template` when
   * given), dropped when the scope closes.
   */
  readonly make: (
    prefix: string,
    options?: { readonly template?: string }
  ) => Effect.Effect<Scratch, ScratchDatabaseError, Scope.Scope>
  /** The URL of another database on the scratch-database server, with the same role. */
  readonly urlOf: (database: string) => Effect.Effect<Redacted.Redacted<string>, ScratchDatabaseError>
  /** Drops a database of the scratch-database server, if it exists. */
  readonly drop: (name: string) => Effect.Effect<void, ScratchDatabaseError>
}

/** The URL of `database` on the server of `url`, same role and options. */
export const siblingUrl = (url: Redacted.Redacted<string>, database: string): Redacted.Redacted<string> => {
  const parsed = new URL(Redacted.value(url))
  parsed.pathname = `/${encodeURIComponent(database)}`
  return Redacted.make(parsed.toString())
}

const isPostgresUrl = (url: string): boolean =>
  URL.canParse(url) && /^postgres(ql)?:$/.test(new URL(url).protocol)

const fromPostgresError = (doing: string) => (error: PostgresError): ScratchDatabaseError => {
  switch (error.reason) {
    case "ServerUnreachable":
    case "AuthFailed":
      return new ScratchDatabaseError({
        reason: "ServerUnreachable",
        message: `the scratch-database server (${adminUrlVariable}) cannot be reached or refused the login while ${doing}`
      })
    case "PermissionDenied":
      return new ScratchDatabaseError({
        reason: "PermissionDenied",
        message: `the role of ${adminUrlVariable} may not create databases (CREATEDB), which the schema tools need for their scratch databases: grant it CREATEDB or point ${adminUrlVariable} at a role that has it`
      })
    case "Failed":
      return new ScratchDatabaseError({ reason: "Failed", message: `${doing} failed on the scratch-database server: ${error.message}` })
  }
}

/** The service on the server of `adminUrl`. */
export const makeScratchDatabase = (adminUrl: Redacted.Redacted<string>): ScratchDatabaseService => {
  const checked = isPostgresUrl(Redacted.value(adminUrl))
    ? Effect.succeed(adminUrl)
    : Effect.fail(new ScratchDatabaseError({ reason: "InvalidUrl", message: `${adminUrlVariable} is not a valid PostgreSQL URL` }))

  const drop = Effect.fn("ScratchDatabase.drop")(function*(name: string) {
    const admin = yield* checked
    yield* withConnection(admin, (db) => db.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`)).pipe(
      Effect.mapError(fromPostgresError(`dropping the scratch database ${name}`))
    )
  })

  const create = Effect.fn("ScratchDatabase.create")(function*(name: string, template: string | undefined) {
    const admin = yield* checked
    const statement = `CREATE DATABASE ${quoteIdent(name)}${template === undefined ? "" : ` TEMPLATE ${quoteIdent(template)}`}`
    yield* withConnection(admin, (db) => db.query(statement)).pipe(
      Effect.mapError(fromPostgresError(`creating a scratch database`))
    )
    return { name, url: siblingUrl(admin, name) }
  })

  return {
    make: (prefix, options) =>
      Effect.acquireRelease(
        create(`${prefix}_${randomBytes(5).toString("hex")}`, options?.template),
        // A drop that fails is reported (as a defect, so that a failure of the
        // work itself, when there was one, stays the error shown).
        (scratch) => Effect.orDie(drop(scratch.name))
      ),
    urlOf: (database) => Effect.map(checked, (admin) => siblingUrl(admin, database)),
    drop
  }
}

export class ScratchDatabase extends Context.Service<ScratchDatabase, ScratchDatabaseService>()(
  "control-plane-cli/ScratchDatabase"
) {
  /** On the server CONTROL_PLANE_ADMIN_URL names (the local one by default). */
  static readonly layer = Layer.effect(
    ScratchDatabase,
    Effect.map(Effect.orDie(adminUrlConfig), makeScratchDatabase)
  )

  /** On a server given directly: the quick start's embedded PostgreSQL, the test matrix. */
  static readonly layerAt = (adminUrl: Redacted.Redacted<string>) => Layer.succeed(ScratchDatabase, makeScratchDatabase(adminUrl))
}
