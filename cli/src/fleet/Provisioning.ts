/**
 * Provisioning: a tenant's database from nothing to active in one idempotent
 * call, and back to nothing. The steps, each recorded in
 * control_plane.tenant_provisioning (`step` = the last one completed):
 *
 *   create_tenant             the tenant, pending                       } one transaction: bad input or a
 *   place                     the least-loaded open server with room,   } full fleet writes nothing, and no
 *                             role and database names from the tenant id } tenant exists without its record
 *   register                  a generated password, in the encrypted connection string of a
 *                             tenant_databases record (status migrating)
 *   create_role_and_database  the role with that password, its database, CONNECT revoked from PUBLIC
 *   migrate                   the tenant template's migrations (the schema engine)
 *   seed                      tenant/seeds/
 *   activate                  the database, then the tenant, active (one transaction)
 *
 * `register` comes before `create_role_and_database` (the issue lists them
 * the other way round) so that the password exists in exactly one place, the
 * encrypted connection string, before any server holds it: a run killed
 * between the two resumes with the same password instead of leaving a role
 * whose password nobody knows, and from then on every failure can leave the
 * database record `error`, as the issue asks.
 *
 * A failed step records the step and a one-line reason, sets the database
 * `error` once it is registered, and fails with ProvisioningFailed. Running
 * the same call again (same tenant name) resumes after the last completed
 * step: the database goes error → migrating, each remaining step runs, and
 * every step is safe to run twice. A per-tenant advisory lock keeps two
 * processes from working on one tenant at once.
 *
 * Deprovisioning goes in reverse: tenant and database inactive, the database
 * and role dropped, then the records removed in one transaction; safe to run
 * again after a crash at any point.
 *
 * Both need an Actor, like every write of the library: the tenant and
 * database changes go through Tenants and TenantDatabases, and the writes of
 * the provisioning record carry the actor too (actorContext), for the audit
 * trail.
 */
import { Context, Effect, Layer, Redacted, Schema } from "effect"
import type { Scope } from "effect"
import {
  Actor,
  actorContext,
  ControlPlane,
  type DatabaseServer,
  DatabaseServerNotFound,
  DatabaseServers,
  Db,
  DbError,
  type IllegalTransition,
  InvalidInput,
  type SystemTenantProtected,
  type ProvisioningStep,
  provisioningSteps,
  type Rows,
  sql,
  type Tenant,
  TenantDatabases,
  type TenantDatabase,
  type TenantDatabaseNotFound,
  TenantEnvironment,
  TenantName,
  type TenantNameTaken,
  TenantNotFound,
  Tenants
} from "../library.ts"
import { ControlPlaneLocks } from "./advisoryLock.ts"
import { ConnectionBudget } from "./ConnectionBudget.ts"
import { dbOn } from "./dbOn.ts"
import {
  DeprovisioningFailed,
  NoServerAvailable,
  oneLineReason,
  PlacementRefused,
  ProvisioningFailed,
  ProvisioningInProgress,
  ServerDrained,
  ServerFull,
  TenantBeingDeprovisioned,
  TenantNotProvisioned
} from "./errors.ts"
import { defaultNamePrefix, deriveNames, type IdentifierTooLong, type InvalidNamePrefix, type TenantNames } from "./names.ts"
import {
  dropRoleAndDatabase,
  ensureRoleAndDatabase,
  generatePassword,
  passwordOf,
  tenantConnectionString
} from "./ServerAdmin.ts"
import { TenantSchema } from "./TenantSchema.ts"

/** Input of `provision`: the tenant's name and environment, optionally a server to place it on and a name prefix. */
export const ProvisionInput = Schema.Struct({
  name: TenantName,
  environment: TenantEnvironment,
  /** A server's name or id; default: the least-loaded open server with room. */
  server: Schema.optionalKey(Schema.String),
  /** What role and database names start with (default `tenant_`); the tenant id's hex digits follow. */
  namePrefix: Schema.optionalKey(Schema.String)
})
export type ProvisionInput = typeof ProvisionInput.Encoded

/** A step starts, or its work is done ("done" comes just before the step is recorded). */
export interface StepEvent {
  readonly step: ProvisioningStep
  readonly phase: "start" | "done"
}

export interface ProvisionOptions {
  /** Called as each step starts and finishes its work, e.g. to print progress. */
  readonly onStep?: (event: StepEvent) => Effect.Effect<void>
}

export interface Provisioned {
  readonly tenant: Tenant
  readonly database: TenantDatabase
  readonly server: DatabaseServer
  /** The template version this call migrated the database to; null when it did not run the migrate step. */
  readonly version: string | null
  /** The steps this call ran (none when the tenant was already provisioned). */
  readonly ran: ReadonlyArray<ProvisioningStep>
  /** Whether an earlier call had started this tenant's provisioning. */
  readonly resumed: boolean
}

export interface Deprovisioned {
  readonly tenantId: string
  readonly name: string
  readonly server: string
  /** The database's name, which is also its role's. */
  readonly database: string
  /** Whether the database and role were dropped (false: kept, see DeprovisionOptions). */
  readonly dropped: boolean
}

export interface DeprovisionOptions {
  /**
   * Leave the database and its role on the server and remove only the
   * records: for a server that is gone for good, where the drop can never
   * succeed and would keep the tenant from being removed.
   */
  readonly keepDatabase?: boolean
}

export type ProvisionError =
  | ProvisioningFailed
  | IllegalTransition
  | SystemTenantProtected
  | PlacementRefused
  | DatabaseServerNotFound
  | IdentifierTooLong
  | InvalidNamePrefix
  | TenantNotProvisioned
  | TenantBeingDeprovisioned
  | ProvisioningInProgress
  | TenantNameTaken
  | InvalidInput
  | DbError

export interface ProvisioningService {
  /** Provisions the tenant named in `input`, or resumes its unfinished provisioning. */
  readonly provision: (input: ProvisionInput, options?: ProvisionOptions) => Effect.Effect<Provisioned, ProvisionError, Actor>
  /** Removes a provisioned tenant: its database and role (unless kept), then its records. */
  readonly deprovision: (
    tenantId: string,
    options?: DeprovisionOptions
  ) => Effect.Effect<
    Deprovisioned,
    TenantNotFound | TenantNotProvisioned | ProvisioningInProgress | DeprovisioningFailed | InvalidInput | DbError,
    Actor
  >
}

type ProvisioningRow = Rows.TenantProvisioning

const decodeInput = Schema.decodeUnknownEffect(ProvisionInput)

const lockKey = (tenantId: string) => `control-plane:provisioning:${tenantId}`

const stepsAfter = (step: ProvisioningStep): ReadonlyArray<ProvisioningStep> =>
  provisioningSteps.slice(provisioningSteps.indexOf(step) + 1)

const isUuid = Schema.is(Schema.String.check(Schema.isUUID()))

/** The server could not be reached, or the connection was lost. */
const unreachable = (error: unknown): boolean =>
  error instanceof DbError && error.reason._tag === "ConnectionError"

/**
 * Lookups of rows this fiber's tenant lock and the foreign keys keep in place
 * (the provisioning record's server, the tenant, its registered database):
 * their absence is a bug, not a case to handle.
 */
const mustExist = <A, E extends { readonly _tag: string }, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, Exclude<E, DatabaseServerNotFound | TenantNotFound | TenantDatabaseNotFound>, R> =>
  Effect.catchIf(
    self,
    (error): error is Extract<E, DatabaseServerNotFound | TenantNotFound | TenantDatabaseNotFound> =>
      error._tag === "DatabaseServerNotFound" || error._tag === "TenantNotFound" || error._tag === "TenantDatabaseNotFound",
    (error) => Effect.die(`${error._tag}: a row the provisioning record refers to is gone`)
  ) as never

export class Provisioning extends Context.Service<Provisioning, ProvisioningService>()("control-plane-cli/Provisioning") {
  static readonly layerNoDeps = Layer.effect(
    Provisioning,
    Effect.gen(function*() {
      const db = yield* Db
      const tenants = yield* Tenants
      const databases = yield* TenantDatabases
      const servers = yield* DatabaseServers
      const template = yield* TenantSchema
      const budget = yield* ConnectionBudget
      const locks = yield* ControlPlaneLocks

      const recordOf = (tenantId: string) =>
        db.query<ProvisioningRow>(sql`SELECT * FROM control_plane.tenant_provisioning WHERE tenant_id = ${tenantId}`)
          .pipe(Effect.map((rows) => rows[0]))

      /** Chooses the server inside the placement transaction (serialised by an advisory lock). */
      const choose = (tenant: string, pinned: DatabaseServer | undefined) =>
        Effect.gen(function*() {
          yield* db.query(sql`SELECT pg_advisory_xact_lock(hashtextextended('control-plane:placement', 0))`)
          if (pinned !== undefined) {
            // Read again under the lock: the load counted before may be stale.
            const current = yield* servers.get(pinned.id)
            if (current.status !== "open") {
              return yield* new PlacementRefused({ tenant, reason: new ServerDrained({ server: current.name }) })
            }
            if (current.databases >= current.maxDatabases) {
              return yield* new PlacementRefused({
                tenant,
                reason: new ServerFull({ server: current.name, maxDatabases: current.maxDatabases })
              })
            }
            return current
          }
          // Least loaded: the smallest share of its maximum in use, then the fewest databases, then by name.
          const rows = yield* db.query<{ id: string }>(
            sql`SELECT s.id FROM control_plane.database_servers s
                LEFT JOIN control_plane.tenant_provisioning p ON p.server_id = s.id
                WHERE s.status = 'open'
                GROUP BY s.id
                HAVING count(p.tenant_id) < s.max_databases
                ORDER BY count(p.tenant_id)::float8 / s.max_databases, count(p.tenant_id), s.name
                LIMIT 1`
          )
          if (rows[0] === undefined) return yield* new PlacementRefused({ tenant, reason: new NoServerAvailable({}) })
          return yield* servers.get(rows[0].id)
        })

      /** Steps create_tenant and place, in one transaction. */
      const createAndPlace = (
        input: typeof ProvisionInput.Type,
        pinned: DatabaseServer | undefined,
        prefix: string,
        onStep: (event: StepEvent) => Effect.Effect<void>
      ) =>
        db.transaction(Effect.gen(function*() {
          yield* onStep({ step: "create_tenant", phase: "start" })
          const tenant = yield* tenants.create({ name: input.name, environment: input.environment })
          yield* onStep({ step: "create_tenant", phase: "done" })
          yield* onStep({ step: "place", phase: "start" })
          const server = yield* choose(input.name, pinned)
          const names = yield* Effect.fromResult(deriveNames(tenant.tenantId, prefix))
          const actor = yield* Actor
          yield* db.query(
            sql`INSERT INTO control_plane.tenant_provisioning (tenant_id, server_id, database_name, role_name, step)
                SELECT ${tenant.tenantId}::uuid, ${server.id}::uuid, ${names.database}, ${names.role}, 'place'
                FROM ${actorContext(actor)}`
          )
          yield* onStep({ step: "place", phase: "done" })
          return tenant
        }))

      /** Writes the record as the actor (the audit trail's context, as the library's writes do). */
      const writeRecord = (statement: (audit: ReturnType<typeof actorContext>) => ReturnType<typeof sql>) =>
        Effect.flatMap(Actor, (actor) => db.query(statement(actorContext(actor))))

      const recordStep = (tenantId: string, step: ProvisioningStep, extra = sql``) =>
        writeRecord((audit) =>
          sql`UPDATE control_plane.tenant_provisioning
              SET step = ${step}, failed_step = NULL, error = NULL, updated_at = now() ${extra}
              FROM ${audit} WHERE tenant_id = ${tenantId}`
        )

      /** Runs the steps after the record's last one, for a tenant whose lock this fiber holds. */
      const runSteps = (tenant: Tenant, record: ProvisioningRow, onStep: (event: StepEvent) => Effect.Effect<void>) =>
        Effect.gen(function*() {
          const server = yield* servers.get(record.server_id).pipe(mustExist)
          const names: TenantNames = { role: record.role_name, database: record.database_name }
          let databaseId = record.database_id ?? undefined
          let version: string | null = null
          const ran: Array<ProvisioningStep> = []

          // Revealed once per run (each reveal is an audit event), when a step first needs it.
          let revealed: Redacted.Redacted<string> | undefined
          const connectionString = Effect.suspend(() => {
            if (revealed !== undefined) return Effect.succeed(revealed)
            if (databaseId === undefined) return Effect.die("the database is not registered yet")
            return Effect.tap(databases.reveal(databaseId), (url) => Effect.sync(() => void (revealed = url)))
          })

          const work: Record<Exclude<ProvisioningStep, "create_tenant" | "place">, Effect.Effect<void, unknown, Actor>> = {
            register: Effect.gen(function*() {
              const admin = yield* servers.revealAdmin(server.id)
              const password = generatePassword()
              databaseId = yield* db.transaction(Effect.gen(function*() {
                const database = yield* databases.register({
                  tenantId: tenant.tenantId,
                  connectionString: tenantConnectionString(admin, server, names, password),
                  databaseName: names.database,
                  host: server.host,
                  port: server.port,
                  status: "migrating"
                })
                yield* onStep({ step: "register", phase: "done" })
                yield* recordStep(tenant.tenantId, "register", sql`, database_id = ${database.id}`)
                return database.id
              }))
            }),
            create_role_and_database: Effect.gen(function*() {
              const password = passwordOf(yield* connectionString)
              const admin = yield* dbOn(yield* servers.revealAdmin(server.id))
              yield* ensureRoleAndDatabase(admin, names, password)
            }).pipe(Effect.scoped),
            migrate: Effect.gen(function*() {
              yield* budget.permit(tenant.tenantId, 1) // the engine's one connection: its lock's, which also runs the migrations
              version = (yield* template.migrate(yield* connectionString)).current
            }).pipe(Effect.scoped),
            seed: Effect.gen(function*() {
              yield* budget.permit(tenant.tenantId, 1)
              yield* template.seed(yield* connectionString)
            }).pipe(Effect.scoped),
            activate: db.transaction(Effect.gen(function*() {
              yield* databases.setStatus(databaseId!, "active")
              // A new tenant is pending; one that was active, suspended or deactivated before its
              // database was registered again (a repaired record) keeps its status.
              if (tenant.status === "pending") yield* tenants.setStatus(tenant.tenantId, "active")
              yield* onStep({ step: "activate", phase: "done" })
              yield* recordStep(tenant.tenantId, "activate", sql`, completed_at = now()`)
            }))
          }

          for (const step of stepsAfter(record.step)) {
            if (step === "create_tenant" || step === "place") continue
            yield* onStep({ step, phase: "start" })
            yield* work[step].pipe(
              Effect.catch((error: unknown) => failStep(tenant, step, databaseId, error))
            )
            if (step !== "register" && step !== "activate") {
              yield* onStep({ step, phase: "done" })
              yield* recordStep(tenant.tenantId, step)
            }
            ran.push(step)
          }
          return { server, databaseId: databaseId!, version, ran }
        })

      /** Records the failure (best effort: the control plane itself may be what failed) and fails. */
      const failStep = (tenant: Tenant, step: ProvisioningStep, databaseId: string | undefined, error: unknown) => {
        const reason = oneLineReason(error instanceof Error ? error.message : String(error))
        const record = Effect.gen(function*() {
          yield* writeRecord((audit) =>
            sql`UPDATE control_plane.tenant_provisioning
                SET failed_step = ${step}, error = ${reason}, updated_at = now()
                FROM ${audit} WHERE tenant_id = ${tenant.tenantId}`
          )
          if (databaseId !== undefined) yield* databases.setStatus(databaseId, "error")
        }).pipe(Effect.ignore)
        return Effect.andThen(
          record,
          Effect.fail(new ProvisioningFailed({ tenant: tenant.name, tenantId: tenant.tenantId, step, reason }))
        )
      }

      /** Holds the tenant's lock for the scope, or fails with ProvisioningInProgress. */
      const lockTenant = (tenantId: string, name: string): Effect.Effect<void, ProvisioningInProgress | DbError, Scope.Scope> =>
        Effect.flatMap(
          locks.hold(lockKey(tenantId)),
          (held) => (held ? Effect.void : Effect.fail(new ProvisioningInProgress({ tenant: name })))
        )

      const resolvePinned = (reference: string | undefined) =>
        reference === undefined
          ? Effect.succeed(undefined)
          : (isUuid(reference) ? servers.get(reference) : servers.findByName(reference)).pipe(
            Effect.catchTag("InvalidInput", () => Effect.fail(new DatabaseServerNotFound({ server: reference })))
          )

      /**
       * A run on a tenant that is already provisioned, or part-way through,
       * must ask for what the first run asked for: another environment, server
       * or name prefix is refused rather than silently ignored.
       */
      const checkSameRequest = (input: typeof ProvisionInput.Type, tenant: Tenant, record: ProvisioningRow) =>
        Effect.gen(function*() {
          const differences: Array<string> = []
          if (input.environment !== tenant.environment) differences.push(`environment ${tenant.environment}`)
          const pinned = yield* resolvePinned(input.server)
          if (pinned !== undefined && pinned.id !== record.server_id) {
            differences.push(`server ${(yield* servers.get(record.server_id).pipe(mustExist)).name}`)
          }
          if (input.namePrefix !== undefined) {
            const names = yield* Effect.fromResult(deriveNames(tenant.tenantId, input.namePrefix))
            if (names.database !== record.database_name) differences.push(`database and role ${record.database_name}`)
          }
          if (differences.length > 0) {
            return yield* new InvalidInput({
              message: `Tenant ${JSON.stringify(tenant.name)} was provisioned with ${differences.join(", ")}: ` +
                "run the command with the same options, or deprovision it first"
            })
          }
        })

      const provision = Effect.fn("Provisioning.provision")(function*(
        raw: ProvisionInput,
        options: ProvisionOptions = {}
      ) {
        const input = yield* decodeInput(raw, { errors: "all" }).pipe(
          Effect.mapError((error) => new InvalidInput({ message: `Invalid tenant to provision: ${error.message}` }))
        )
        const onStep = options.onStep ?? (() => Effect.void)
        const prefix = input.namePrefix ?? defaultNamePrefix
        // Any tenant id gives names of the same length: refuse a bad prefix before anything is written.
        yield* Effect.fromResult(deriveNames("00000000-0000-0000-0000-000000000000", prefix))

        const existing = yield* tenants.findByName(input.name).pipe(
          Effect.catchTag("TenantNotFound", () => Effect.succeed(undefined))
        )
        let tenant: Tenant
        let resumed = false
        if (existing === undefined) {
          const pinned = yield* resolvePinned(input.server)
          const created = yield* createAndPlace(input, pinned, prefix, onStep).pipe(
            // Another process created it in between: carry on as a resume (its lock decides who works on it).
            Effect.catchTag("TenantNameTaken", (taken) =>
              tenants.findByName(input.name).pipe(Effect.mapError(() => taken), Effect.map((found) => ({ found }))))
          )
          if ("found" in created) {
            tenant = created.found
            resumed = true
          } else {
            tenant = created
          }
        } else {
          tenant = existing
          resumed = true
        }

        yield* lockTenant(tenant.tenantId, tenant.name)
        const record = yield* recordOf(tenant.tenantId)
        if (record === undefined) return yield* new TenantNotProvisioned({ tenant: tenant.name })
        if (record.deprovision_started_at !== null) return yield* new TenantBeingDeprovisioned({ tenant: tenant.name })
        if (resumed) yield* checkSameRequest(input, tenant, record)
        if (resumed && record.completed_at === null) {
          yield* writeRecord((audit) =>
            sql`UPDATE control_plane.tenant_provisioning SET attempts = attempts + 1, updated_at = now()
                FROM ${audit} WHERE tenant_id = ${tenant.tenantId}`
          )
          // The last attempt left the database `error`: it is being worked on again.
          if (record.database_id !== null && (yield* databases.get(record.database_id).pipe(mustExist)).status === "error") {
            yield* databases.setStatus(record.database_id, "migrating").pipe(mustExist)
          }
        }
        const outcome = yield* runSteps(tenant, record, onStep)
        yield* Effect.logInfo("Provisioned a tenant").pipe(
          Effect.annotateLogs({ tenantId: tenant.tenantId, serverId: outcome.server.id, steps: outcome.ran.join(",") })
        )
        return {
          tenant: yield* tenants.get(tenant.tenantId).pipe(mustExist),
          database: yield* databases.get(outcome.databaseId).pipe(mustExist),
          server: yield* servers.get(outcome.server.id).pipe(mustExist),
          version: outcome.version,
          ran: outcome.ran,
          resumed
        }
      }, Effect.scoped)

      const deprovision = Effect.fn("Provisioning.deprovision")(function*(tenantId: string, options?: DeprovisionOptions) {
        const dropped = options?.keepDatabase !== true
        const tenant = yield* tenants.get(tenantId)
        yield* lockTenant(tenant.tenantId, tenant.name)
        const record = yield* recordOf(tenant.tenantId)
        if (record === undefined) return yield* new TenantNotProvisioned({ tenant: tenant.name })
        const server = yield* servers.get(record.server_id).pipe(mustExist)
        const names: TenantNames = { role: record.role_name, database: record.database_name }
        const failed = (error: unknown, onServer?: string) =>
          Effect.fail(new DeprovisioningFailed({
            tenant: tenant.name,
            tenantId: tenant.tenantId,
            reason: oneLineReason(error instanceof Error ? error.message : String(error)),
            ...(onServer === undefined ? {} : { server: onServer })
          }))

        yield* Effect.gen(function*() {
          // From here on the tenant cannot be provisioned again until this finishes.
          yield* writeRecord((audit) =>
            sql`UPDATE control_plane.tenant_provisioning
                SET deprovision_started_at = coalesce(deprovision_started_at, now()), updated_at = now()
                FROM ${audit} WHERE tenant_id = ${tenant.tenantId}`
          )
          // Stop serving first: the tenant and its database become inactive.
          if (tenant.status !== "inactive") yield* tenants.setStatus(tenant.tenantId, "inactive")
          const database = record.database_id === null
            ? undefined
            : yield* databases.get(record.database_id).pipe(
              Effect.catchTag("TenantDatabaseNotFound", () => Effect.succeed(undefined))
            )
          if (database !== undefined && database.status !== "inactive") {
            yield* databases.setStatus(database.id, "inactive")
          }
          if (dropped) {
            yield* Effect.scoped(Effect.gen(function*() {
              const admin = yield* dbOn(yield* servers.revealAdmin(server.id))
              yield* dropRoleAndDatabase(admin, names)
            })).pipe(
              // Only a server that cannot be reached may be gone for good (and --keep-database the way out).
              Effect.catch((error) => failed(error, unreachable(error) ? server.name : undefined))
            )
          }
          // The records go last, together: the provisioning record first, as its foreign keys
          // keep the database record and the tenant while it exists.
          yield* db.transaction(Effect.gen(function*() {
            yield* writeRecord((audit) =>
              sql`DELETE FROM control_plane.tenant_provisioning USING ${audit} WHERE tenant_id = ${tenant.tenantId}`
            )
            if (database !== undefined) yield* databases.remove(database.id).pipe(mustExist)
            yield* tenants.delete(tenant.tenantId).pipe(mustExist)
          }))
        }).pipe(Effect.catch((error) => error instanceof DeprovisioningFailed ? Effect.fail(error) : failed(error)))

        yield* Effect.logInfo("Deprovisioned a tenant").pipe(
          Effect.annotateLogs({ tenantId: tenant.tenantId, serverId: server.id, dropped })
        )
        return { tenantId: tenant.tenantId, name: tenant.name, server: server.name, database: names.database, dropped }
      }, Effect.scoped)

      return Provisioning.of({ provision, deprovision })
    })
  )

  /**
   * Provisioning configured from the environment: the library's services
   * (DATABASE_URL, the key ring), the tenant template in tenant/ and the
   * connection budget.
   */
  static readonly layer = Provisioning.layerNoDeps.pipe(
    Layer.provideMerge(Layer.mergeAll(TenantSchema.layer, ConnectionBudget.layerNoDeps, ControlPlaneLocks.layer)),
    Layer.provideMerge(ControlPlane.layer)
  )
}
