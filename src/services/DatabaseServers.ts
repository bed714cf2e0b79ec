/**
 * The DatabaseServers service: the registry of PostgreSQL servers that tenant
 * databases may be placed on (control_plane.database_servers).
 *
 * Each server has an admin connection string (a role that may create roles
 * and databases), which arrives and leaves as Redacted and is encrypted
 * before it reaches SQL, bound to the server's row (the id is made here; see
 * ConnectionStringCrypto.encryptServerAdmin). A server is `open` for new
 * tenant databases or `drained`; how many are placed on it is counted from
 * control_plane.tenant_provisioning, the record provisioning writes for every
 * tenant it places. Inputs are decoded at the edge (InvalidInput, nothing
 * written); a duplicate name is DatabaseServerNameTaken.
 *
 * Writes and reveals require an Actor, as everywhere in the library: each
 * write carries it to the database (actorContext), whose audit trigger
 * records the change (the admin connection string only as changed), and
 * revealAdmin appends a reveal event before it hands out the plaintext.
 */
import { randomUUID } from "node:crypto"
import { Context, Effect, Layer, Schema } from "effect"
import type { Redacted } from "effect"
import { ConnectionStringCrypto, type DecryptError, envelopeKeyId } from "../crypto/ConnectionStringCrypto.ts"
import { checkDriverAccepts, Db, sql } from "../db/Db.ts"
import type { SQLQuery } from "../db/Db.ts"
import type DatabaseServers_Row from "../db/generated/database_servers.ts"
import {
  DatabaseServer,
  DatabaseServerId,
  DatabaseServerNameTaken,
  DatabaseServerNotFound,
  MaxDatabases,
  ServerName
} from "../domain/DatabaseServer.ts"
import { ServerStatus } from "../domain/enums.ts"
import { Actor, actorContext } from "./Actor.ts"
import { checkInput, DbError, decodeInput, InvalidInput } from "../domain/errors.ts"
import { ConnectionString, DatabaseHost, DatabasePort, defaultDatabasePort } from "../domain/TenantDatabase.ts"

/** Input of `add`. `port` defaults to 5432 and `status` to "open". */
export const AddDatabaseServerInput = Schema.Struct({
  name: ServerName,
  host: DatabaseHost,
  port: Schema.optionalKey(DatabasePort),
  adminConnectionString: ConnectionString,
  maxDatabases: MaxDatabases,
  status: Schema.optionalKey(ServerStatus)
})
export type AddDatabaseServerInput = typeof AddDatabaseServerInput.Encoded

export interface DatabaseServersService {
  /** Encrypts the admin connection string under the primary key and registers the server. */
  readonly add: (
    input: AddDatabaseServerInput
  ) => Effect.Effect<DatabaseServer, DatabaseServerNameTaken | InvalidInput | DbError, Actor>
  /** Every server, by name, with the number of tenant databases placed on each. */
  readonly list: () => Effect.Effect<ReadonlyArray<DatabaseServer>, DbError>
  readonly get: (id: string) => Effect.Effect<DatabaseServer, DatabaseServerNotFound | InvalidInput | DbError>
  readonly findByName: (name: string) => Effect.Effect<DatabaseServer, DatabaseServerNotFound | InvalidInput | DbError>
  /** Opens a server for new tenant databases, or drains it (those placed on it stay). */
  readonly setStatus: (
    id: string,
    status: string
  ) => Effect.Effect<DatabaseServer, DatabaseServerNotFound | InvalidInput | DbError, Actor>
  /** Decrypts the admin connection string, recorded in the audit trail (with the actor) before it is handed out; decrypt only when about to connect. */
  readonly revealAdmin: (
    id: string
  ) => Effect.Effect<Redacted.Redacted<string>, DatabaseServerNotFound | DecryptError | InvalidInput | DbError, Actor>
  /**
   * Re-encrypts every admin connection string not yet under the primary key,
   * in one transaction (servers are few); gives how many were re-encrypted.
   */
  readonly reencryptAll: () => Effect.Effect<number, DecryptError | DbError, Actor>
  /** Servers per key id (from each envelope's header), e.g. to check that no server is left under a key before retiring it. */
  readonly keyUsage: () => Effect.Effect<ReadonlyArray<{ readonly keyId: string; readonly servers: number }>, DbError>
}

const decodeAdd = decodeInput(AddDatabaseServerInput, "database server")
const decodeId = decodeInput(DatabaseServerId, "database server id")
const decodeName = decodeInput(ServerName, "database server name")
const decodeText = checkInput(Schema.String, "database server name")
const decodeStatus = decodeInput(ServerStatus, "server status")

type ServerRow = DatabaseServers_Row & { readonly databases: bigint }

// Each server with the number of tenant databases placed on it.
const withLoad = sql`SELECT s.*, (SELECT count(*) FROM control_plane.tenant_provisioning p WHERE p.server_id = s.id) AS databases
  FROM control_plane.database_servers s`

const toServer = (row: ServerRow): DatabaseServer =>
  new DatabaseServer(
    {
      id: row.id as DatabaseServerId,
      name: row.name,
      host: row.host,
      port: row.port,
      maxDatabases: row.max_databases,
      status: row.status,
      databases: Number(row.databases),
      keyId: envelopeKeyId(row.admin_connection_string_encrypted) ?? null,
      createdAt: row.created_at,
      updatedAt: row.updated_at
    },
    { disableChecks: true }
  )

const isNameTaken = (error: DbError): boolean =>
  error.reason._tag === "UniqueViolation" && error.reason.constraint === "database_servers_name_key"

export class DatabaseServers extends Context.Service<DatabaseServers, DatabaseServersService>()(
  "control-plane/DatabaseServers"
) {
  static readonly layerNoDeps = Layer.effect(
    DatabaseServers,
    Effect.gen(function*() {
      const db = yield* Db
      const crypto = yield* ConnectionStringCrypto

      const one = (query: SQLQuery, server: string) =>
        db.query<ServerRow>(query).pipe(
          Effect.flatMap((rows) =>
            rows[0] === undefined ? Effect.fail(new DatabaseServerNotFound({ server })) : Effect.succeed(rows[0])
          )
        )

      const byId = (id: DatabaseServerId) => one(sql`${withLoad} WHERE s.id = ${id}`, id)

      const add = Effect.fn("DatabaseServers.add")(function*(input: AddDatabaseServerInput) {
        const valid = yield* decodeAdd(input)
        yield* checkDriverAccepts(valid.adminConnectionString, "database server", "adminConnectionString")
        const actor = yield* Actor
        const id = randomUUID()
        const envelope = yield* crypto.encryptServerAdmin(valid.adminConnectionString, { serverId: id })
        const rows = yield* db.query<DatabaseServers_Row>(
          sql`INSERT INTO control_plane.database_servers
                (id, name, host, port, admin_connection_string_encrypted, max_databases, status)
              SELECT ${id}::uuid, ${valid.name}, ${valid.host}, ${valid.port ?? defaultDatabasePort}::integer, ${envelope},
                     ${valid.maxDatabases}::integer, ${valid.status ?? "open"}::control_plane.server_status
              FROM ${actorContext(actor)}
              RETURNING database_servers.*`
        ).pipe(
          Effect.mapError((error) => isNameTaken(error) ? new DatabaseServerNameTaken({ name: valid.name }) : error)
        )
        const row = rows[0]
        if (row === undefined) return yield* Effect.die("INSERT gave no row")
        yield* Effect.logInfo("Registered a database server").pipe(
          Effect.annotateLogs({ serverId: id, keyId: crypto.primaryKeyId })
        )
        return toServer({ ...row, databases: 0n })
      })

      const list = Effect.fn("DatabaseServers.list")(function*() {
        const rows = yield* db.query<ServerRow>(sql`${withLoad} ORDER BY s.name`)
        return rows.map(toServer)
      })

      const get = Effect.fn("DatabaseServers.get")(function*(id: string) {
        return toServer(yield* byId(yield* decodeId(id)))
      })

      const findByName = Effect.fn("DatabaseServers.findByName")(function*(name: string) {
        const text = yield* decodeText(name)
        const valid = yield* decodeName(text).pipe(
          // A name that cannot exist is not found rather than invalid: lookups take what operators type.
          Effect.catchTag("InvalidInput", () => Effect.fail(new DatabaseServerNotFound({ server: text })))
        )
        return toServer(yield* one(sql`${withLoad} WHERE s.name = ${valid}`, valid))
      })

      const setStatus = Effect.fn("DatabaseServers.setStatus")(function*(id: string, status: string) {
        const valid = yield* decodeId(id)
        const validStatus = yield* decodeStatus(status)
        const actor = yield* Actor
        yield* one(
          sql`UPDATE control_plane.database_servers SET status = ${validStatus}, updated_at = now()
              FROM ${actorContext(actor)}
              WHERE id = ${valid} RETURNING database_servers.*, 0::bigint AS databases`,
          valid
        )
        yield* Effect.logInfo("Changed a database server's status").pipe(
          Effect.annotateLogs({ serverId: valid, status: validStatus })
        )
        return toServer(yield* byId(valid))
      })

      const revealAdmin = Effect.fn("DatabaseServers.revealAdmin")(function*(id: string) {
        const valid = yield* decodeId(id)
        const actor = yield* Actor
        const row = yield* byId(valid)
        const adminConnectionString = yield* crypto.decryptServerAdmin(row.admin_connection_string_encrypted, { serverId: row.id })
        // Recorded (committed, unless the caller holds a transaction of its own: README, Audit trail) before the plaintext leaves this function, as TenantDatabases.reveal does.
        yield* db.query(
          sql`INSERT INTO control_plane.audit_events (action, entity_type, entity_id)
              SELECT 'reveal', 'database_server', ${row.id} FROM ${actorContext(actor)}`
        )
        yield* Effect.logInfo("Revealed a database server's admin connection string").pipe(
          Effect.annotateLogs({ serverId: row.id, actor: actor.name })
        )
        return adminConnectionString
      })

      const reencryptAll = Effect.fn("DatabaseServers.reencryptAll")(function*() {
        const actor = yield* Actor
        return yield* db.transaction(Effect.gen(function*() {
          const rows = yield* db.query<Pick<DatabaseServers_Row, "id" | "admin_connection_string_encrypted">>(
            sql`SELECT id, admin_connection_string_encrypted FROM control_plane.database_servers ORDER BY id FOR UPDATE`
          )
          const stale = rows.filter((row) => !crypto.isCurrent(row.admin_connection_string_encrypted))
          for (const row of stale) {
            const server = { serverId: row.id }
            const plaintext = yield* crypto.decryptServerAdmin(row.admin_connection_string_encrypted, server)
            const envelope = yield* crypto.encryptServerAdmin(plaintext, server)
            yield* db.query(
              sql`UPDATE control_plane.database_servers
                  SET admin_connection_string_encrypted = ${envelope}, updated_at = now()
                  FROM ${actorContext(actor)} WHERE id = ${row.id}`
            )
          }
          return stale.length
        }))
      })

      const keyUsage = Effect.fn("DatabaseServers.keyUsage")(function*() {
        const rows = yield* db.query<{ key_id: string; servers: bigint }>(
          sql`SELECT split_part(admin_connection_string_encrypted, ':', 2) AS key_id, count(*) AS servers
              FROM control_plane.database_servers GROUP BY 1 ORDER BY 1`
        )
        return rows.map((row) => ({ keyId: row.key_id, servers: Number(row.servers) }))
      })

      return DatabaseServers.of({ add, list, get, findByName, setStatus, revealAdmin, reencryptAll, keyUsage })
    })
  )

  /** DatabaseServers on a Db and a key ring configured from the environment. */
  static readonly layer = DatabaseServers.layerNoDeps.pipe(
    Layer.provide(Layer.merge(Db.layer, ConnectionStringCrypto.layer))
  )
}
