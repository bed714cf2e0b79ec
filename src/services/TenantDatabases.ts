/**
 * The TenantDatabases service: register, list, look up, reveal, change and
 * remove the databases of tenants (control_plane.tenant_databases), and
 * re-encrypt every connection string under the current primary key.
 *
 * Connection strings arrive and leave as Redacted and are encrypted before
 * they reach SQL: the record id is made here, so the ciphertext can be bound
 * to its row (see ConnectionStringCrypto). Inputs are decoded at the edge
 * (InvalidInput, nothing written); a missing tenant on register is
 * TenantNotFound, mapped from the foreign key. Updates set updated_at = now()
 * themselves, as the spec's application-level listener does, and the trigger
 * sets the same value. Statuses follow the lifecycle the database enforces
 * (routines.hcl): a move it does not allow is IllegalTransition.
 *
 * Writes require an Actor, which the audit trigger records with each change;
 * so does `reveal`, which appends a reveal event before it hands out the
 * plaintext, and `reencryptAll`, which records the run as a rotate event.
 */
import { randomUUID } from "node:crypto"
import { Context, Effect, Layer, Schema } from "effect"
import type { Redacted } from "effect"
import {
  ConnectionStringCrypto,
  type DecryptError,
  envelopeKeyId,
  envelopePrefix
} from "../crypto/ConnectionStringCrypto.ts"
import { checkDriverAccepts, Db, sql } from "../db/Db.ts"
import type { SQLQuery } from "../db/Db.ts"
import type TenantDatabases_Row from "../db/generated/tenant_databases.ts"
import { DatabaseStatus } from "../domain/enums.ts"
import { DbError, decodeInput, InvalidInput } from "../domain/errors.ts"
import type { IllegalTransition } from "../domain/Lifecycle.ts"
import { TenantId, TenantNotFound } from "../domain/Tenant.ts"
import {
  ConnectionString,
  DatabaseHost,
  DatabaseName,
  DatabasePort,
  defaultDatabasePort,
  TenantDatabase,
  TenantDatabaseId,
  TenantDatabaseNotFound
} from "../domain/TenantDatabase.ts"
import { Actor, actorContext } from "./Actor.ts"
import { transitionRefusal } from "./lifecycleErrors.ts"

/**
 * Input of `register`. `port` defaults to 5432; `status` defaults to
 * "inactive": registering does not check that the database answers, so it is
 * only served once someone marks it active. A new database may start inactive,
 * migrating or active (not error).
 */
export const RegisterTenantDatabaseInput = Schema.Struct({
  tenantId: TenantId,
  connectionString: ConnectionString,
  databaseName: DatabaseName,
  host: DatabaseHost,
  port: Schema.optionalKey(DatabasePort),
  status: Schema.optionalKey(DatabaseStatus)
})
export type RegisterTenantDatabaseInput = typeof RegisterTenantDatabaseInput.Encoded

export const defaultDatabaseStatus: DatabaseStatus = "inactive"

/** Where a re-encryption stands; counts are of rows, cumulative for the run. */
export interface ReencryptProgress {
  /** Rows in the table when the run started. */
  readonly total: number
  /** Rows that were already under the primary key when the run started. */
  readonly alreadyCurrent: number
  /** Rows this run has re-encrypted so far. */
  readonly reencrypted: number
}

export interface ReencryptOptions {
  /** Rows per batch, each batch one transaction (1 to 10000, default 100). */
  readonly batchSize?: number
  /** Called after every committed batch (and once at the start), e.g. for a progress bar. */
  readonly onProgress?: (progress: ReencryptProgress) => Effect.Effect<void>
}

export const defaultBatchSize = 100
const maxBatchSize = 10_000

/** How many rows are under each key id (the id from each envelope's header). */
export interface KeyUsage {
  readonly keyId: string
  readonly databases: number
}

export interface TenantDatabasesService {
  /** Encrypts the connection string under the primary key and stores a new record. */
  readonly register: (
    input: RegisterTenantDatabaseInput
  ) => Effect.Effect<TenantDatabase, TenantNotFound | IllegalTransition | InvalidInput | DbError, Actor>
  /** The tenant's databases, oldest first; TenantNotFound when the tenant does not exist. */
  readonly listForTenant: (
    tenantId: string
  ) => Effect.Effect<ReadonlyArray<TenantDatabase>, TenantNotFound | InvalidInput | DbError>
  readonly get: (id: string) => Effect.Effect<TenantDatabase, TenantDatabaseNotFound | InvalidInput | DbError>
  /**
   * Decrypts the connection string; decrypt only when about to connect. The
   * reveal is recorded in the audit trail (with the actor) before the
   * plaintext is handed out: no record, no plaintext.
   */
  readonly reveal: (
    id: string
  ) => Effect.Effect<Redacted.Redacted<string>, TenantDatabaseNotFound | DecryptError | InvalidInput | DbError, Actor>
  /** Moves the database to `status`, as the lifecycle allows (its current status succeeds and changes nothing). */
  readonly setStatus: (
    id: string,
    status: string
  ) => Effect.Effect<TenantDatabase, TenantDatabaseNotFound | IllegalTransition | InvalidInput | DbError, Actor>
  /** Deletes the record (not the database itself); gives the deleted record. */
  readonly remove: (id: string) => Effect.Effect<TenantDatabase, TenantDatabaseNotFound | InvalidInput | DbError, Actor>
  /**
   * Re-encrypts every row not yet under the primary key, in batches, each
   * committed on its own. Resumable: run it again after an interruption and it
   * skips what is done. Fails on the first row that does not decrypt (the error
   * names it; batches before it stay committed). Each re-encrypted row is an
   * update event of the audit trail (its key id, old and new), and a completed
   * run one rotate event with the counts.
   */
  readonly reencryptAll: (
    options?: ReencryptOptions
  ) => Effect.Effect<ReencryptProgress, DecryptError | InvalidInput | DbError, Actor>
  /** Rows per key id, e.g. to check that no row is left under a key before retiring it. */
  readonly keyUsage: () => Effect.Effect<ReadonlyArray<KeyUsage>, DbError>
}

const decodeRegister = decodeInput(RegisterTenantDatabaseInput, "tenant database")
const decodeId = decodeInput(TenantDatabaseId, "tenant database id")
const decodeTenantId = decodeInput(TenantId, "tenant id")
const decodeStatus = decodeInput(DatabaseStatus, "database status")
const decodeReencryptOptions = decodeInput(
  Schema.Struct({
    batchSize: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: maxBatchSize }))),
    onProgress: Schema.optionalKey(
      Schema.declare((u): u is (progress: ReencryptProgress) => Effect.Effect<void> => typeof u === "function", {
        expected: "a function"
      })
    )
  }),
  "re-encryption options"
)

// The generated row types match the domain (enums, uuids), so records are
// built without re-validating each field; the connection string stays behind.
const toTenantDatabase = (row: TenantDatabases_Row): TenantDatabase =>
  new TenantDatabase(
    {
      id: row.id as TenantDatabaseId,
      tenantId: row.tenant_id as TenantId,
      databaseName: row.database_name,
      host: row.host,
      port: row.port,
      status: row.status,
      keyId: envelopeKeyId(row.connection_string_encrypted) ?? null,
      createdAt: row.created_at,
      updatedAt: row.updated_at
    },
    { disableChecks: true }
  )

const isMissingTenant = (error: DbError): boolean =>
  error.reason._tag === "ForeignKeyViolation" && error.reason.constraint === "tenant_databases_tenant_id_fkey"

const firstRow = <A>(rows: ReadonlyArray<A>, what: string): Effect.Effect<A> =>
  rows[0] === undefined ? Effect.die(`${what} gave no row`) : Effect.succeed(rows[0])

type RowToReencrypt = Pick<TenantDatabases_Row, "id" | "tenant_id" | "connection_string_encrypted">

export class TenantDatabases extends Context.Service<TenantDatabases, TenantDatabasesService>()(
  "control-plane/TenantDatabases"
) {
  static readonly layerNoDeps = Layer.effect(
    TenantDatabases,
    Effect.gen(function*() {
      const db = yield* Db
      const crypto = yield* ConnectionStringCrypto

      const one = (query: SQLQuery, id: string) =>
        db.query<TenantDatabases_Row>(query).pipe(
          Effect.flatMap((rows) =>
            rows[0] === undefined ? Effect.fail(new TenantDatabaseNotFound({ id })) : Effect.succeed(rows[0])
          )
        )

      const register = Effect.fn("TenantDatabases.register")(function*(input: RegisterTenantDatabaseInput) {
        const valid = yield* decodeRegister(input)
        yield* checkDriverAccepts(valid.connectionString, "tenant database", "connectionString")
        const actor = yield* Actor
        const id = randomUUID()
        const envelope = yield* crypto.encrypt(valid.connectionString, { tenantId: valid.tenantId, databaseId: id })
        const rows = yield* db.query<TenantDatabases_Row>(
          sql`INSERT INTO control_plane.tenant_databases
                (id, tenant_id, connection_string_encrypted, database_name, host, port, status)
              SELECT ${id}::uuid, ${valid.tenantId}::uuid, ${envelope}, ${valid.databaseName}, ${valid.host},
                     ${valid.port ?? defaultDatabasePort}::integer,
                     ${valid.status ?? defaultDatabaseStatus}::control_plane.database_status
              FROM ${actorContext(actor)}
              RETURNING *`
        ).pipe(
          Effect.mapError((error) => isMissingTenant(error) ? new TenantNotFound({ tenantId: valid.tenantId }) : error)
        )
        const database = toTenantDatabase(yield* firstRow(rows, "INSERT"))
        yield* Effect.logInfo("Registered a tenant database").pipe(
          Effect.annotateLogs({ databaseId: database.id, tenantId: database.tenantId, keyId: crypto.primaryKeyId })
        )
        return database
      }, Effect.mapError(transitionRefusal))

      const listForTenant = Effect.fn("TenantDatabases.listForTenant")(function*(tenantId: string) {
        const id = yield* decodeTenantId(tenantId)
        // One query answers both questions: does the tenant exist, and what does it own.
        const rows = yield* db.query<{ [K in keyof TenantDatabases_Row]: TenantDatabases_Row[K] | null }>(
          sql`SELECT d.* FROM control_plane.tenants t
              LEFT JOIN control_plane.tenant_databases d ON d.tenant_id = t.tenant_id
              WHERE t.tenant_id = ${id}
              ORDER BY d.created_at, d.id`
        )
        if (rows.length === 0) return yield* new TenantNotFound({ tenantId: id })
        return rows.flatMap((row) => row.id === null ? [] : [toTenantDatabase(row as TenantDatabases_Row)])
      })

      const get = Effect.fn("TenantDatabases.get")(function*(id: string) {
        const valid = yield* decodeId(id)
        return toTenantDatabase(yield* one(sql`SELECT * FROM control_plane.tenant_databases WHERE id = ${valid}`, valid))
      })

      const reveal = Effect.fn("TenantDatabases.reveal")(function*(id: string) {
        const valid = yield* decodeId(id)
        const actor = yield* Actor
        const row = yield* one(sql`SELECT * FROM control_plane.tenant_databases WHERE id = ${valid}`, valid)
        const connectionString = yield* crypto.decrypt(row.connection_string_encrypted, {
          tenantId: row.tenant_id,
          databaseId: row.id
        })
        // Recorded (committed, unless the caller holds a transaction of its own: README, Audit trail) before the plaintext leaves this function.
        yield* db.query(
          sql`INSERT INTO control_plane.audit_events (action, entity_type, entity_id, tenant_id)
              SELECT 'reveal', 'tenant_database', ${row.id}, ${row.tenant_id}::uuid FROM ${actorContext(actor)}`
        )
        yield* Effect.logInfo("Revealed a tenant database connection string").pipe(
          Effect.annotateLogs({ databaseId: row.id, tenantId: row.tenant_id })
        )
        return connectionString
      })

      const setStatus = Effect.fn("TenantDatabases.setStatus")(function*(id: string, status: string) {
        const valid = yield* decodeId(id)
        const validStatus = yield* decodeStatus(status)
        const actor = yield* Actor
        return toTenantDatabase(
          yield* one(
            sql`UPDATE control_plane.tenant_databases SET status = ${validStatus}, updated_at = now()
                FROM ${actorContext(actor)}
                WHERE id = ${valid} RETURNING tenant_databases.*`,
            valid
          )
        )
      }, Effect.mapError(transitionRefusal))

      const remove = Effect.fn("TenantDatabases.remove")(function*(id: string) {
        const valid = yield* decodeId(id)
        const actor = yield* Actor
        const row = yield* one(
          sql`DELETE FROM control_plane.tenant_databases USING ${actorContext(actor)}
              WHERE id = ${valid} RETURNING tenant_databases.*`,
          valid
        )
        yield* Effect.logInfo("Removed a tenant database").pipe(
          Effect.annotateLogs({ databaseId: row.id, tenantId: row.tenant_id })
        )
        return toTenantDatabase(row)
      })

      /**
       * Re-encrypts the next batch of rows after `after` (in id order) that are
       * not under the primary key, in one transaction; gives how many and the
       * last id, or undefined when none is left. The rows are locked, so a
       * concurrent run cannot write them in between.
       */
      const reencryptBatch = (prefix: string, after: string, batchSize: number, actor: Actor["Service"]) =>
        db.transaction(Effect.gen(function*() {
          const rows = yield* db.query<RowToReencrypt>(
            sql`SELECT id, tenant_id, connection_string_encrypted FROM control_plane.tenant_databases
                WHERE id > ${after} AND NOT starts_with(connection_string_encrypted, ${prefix})
                ORDER BY id LIMIT ${batchSize} FOR UPDATE`
          )
          const last = rows[rows.length - 1]
          if (last === undefined) return undefined
          const envelopes = yield* Effect.forEach(rows, (row) => {
            const binding = { tenantId: row.tenant_id, databaseId: row.id }
            return crypto.decrypt(row.connection_string_encrypted, binding).pipe(
              Effect.flatMap((plaintext) => crypto.encrypt(plaintext, binding))
            )
          })
          yield* db.query(
            sql`UPDATE control_plane.tenant_databases AS d
                SET connection_string_encrypted = v.envelope, updated_at = now()
                FROM unnest(${rows.map((row) => row.id)}::uuid[], ${envelopes}::text[]) AS v(id, envelope),
                     ${actorContext(actor)}
                WHERE d.id = v.id`
          )
          return { count: rows.length, lastId: last.id }
        }))

      const reencryptAll = Effect.fn("TenantDatabases.reencryptAll")(function*(options: ReencryptOptions = {}) {
        const valid = yield* decodeReencryptOptions(options)
        const batchSize = valid.batchSize ?? defaultBatchSize
        const actor = yield* Actor
        const onProgress = valid.onProgress ?? (() => Effect.void)
        const prefix = envelopePrefix(crypto.primaryKeyId)
        const counts = yield* db.query<{ total: bigint; current: bigint }>(
          sql`SELECT count(*) AS total,
                     count(*) FILTER (WHERE starts_with(connection_string_encrypted, ${prefix})) AS current
              FROM control_plane.tenant_databases`
        ).pipe(Effect.flatMap((rows) => firstRow(rows, "SELECT count(*)")))
        let progress: ReencryptProgress = {
          total: Number(counts.total),
          alreadyCurrent: Number(counts.current),
          reencrypted: 0
        }
        yield* onProgress(progress)
        let after = "00000000-0000-0000-0000-000000000000"
        while (true) {
          const batch = yield* reencryptBatch(prefix, after, batchSize, actor)
          if (batch === undefined) break
          after = batch.lastId
          progress = { ...progress, reencrypted: progress.reencrypted + batch.count }
          yield* onProgress(progress)
        }
        yield* db.query(
          sql`INSERT INTO control_plane.audit_events (action, entity_type, entity_id, changes)
              SELECT 'rotate', 'key_ring', ${crypto.primaryKeyId},
                     jsonb_build_object('primary_key_id', ${crypto.primaryKeyId}::text, 'total', ${progress.total}::int,
                                        'already_current', ${progress.alreadyCurrent}::int,
                                        'reencrypted', ${progress.reencrypted}::int)
              FROM ${actorContext(actor)}`
        )
        yield* Effect.logInfo("Re-encrypted tenant database connection strings").pipe(
          Effect.annotateLogs({ primaryKeyId: crypto.primaryKeyId, ...progress })
        )
        return progress
      })

      const keyUsage = Effect.fn("TenantDatabases.keyUsage")(function*() {
        const rows = yield* db.query<{ key_id: string; databases: bigint }>(
          sql`SELECT split_part(connection_string_encrypted, ':', 2) AS key_id, count(*) AS databases
              FROM control_plane.tenant_databases GROUP BY 1 ORDER BY 1`
        )
        return rows.map((row) => ({ keyId: row.key_id, databases: Number(row.databases) }))
      })

      return TenantDatabases.of({ register, listForTenant, get, reveal, setStatus, remove, reencryptAll, keyUsage })
    })
  )

  /** TenantDatabases on a Db and a key ring configured from the environment. */
  static readonly layer = TenantDatabases.layerNoDeps.pipe(
    Layer.provide(Layer.merge(Db.layer, ConnectionStringCrypto.layer))
  )
}
