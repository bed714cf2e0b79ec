/**
 * The Tenants service: create, look up, list, change and delete tenants in
 * control_plane.tenants.
 *
 * Every input is decoded with Schema at the edge (InvalidInput, nothing
 * written); rows come back typed by the generated row types and leave as
 * Tenant. A duplicate name, whether caught by the unique index or lost in a
 * race, is TenantNameTaken. Updates set updated_at = now() themselves, as the
 * spec's application-level listener does, and the trigger sets the same value.
 *
 * Writes require an Actor: each write statement carries it to the database
 * (actorContext), whose audit trigger records the change under that name in
 * the same transaction. Reads need none.
 *
 * The lifecycle is the database's (routines.hcl): a tenant is created pending,
 * a status move the transition table does not allow is IllegalTransition,
 * becoming active without an active database is NoActiveDatabase, and
 * system_admin cannot be renamed, moved out of active or deleted
 * (SystemTenantProtected).
 */
import { Context, Effect, Layer, Schema } from "effect"
import { Db, sql } from "../db/Db.ts"
import type { SQLQuery } from "../db/Db.ts"
import type Tenants_Row from "../db/generated/tenants.ts"
import { TenantEnvironment, TenantStatus } from "../domain/enums.ts"
import { checkInput, DbError, decodeInput, InvalidInput } from "../domain/errors.ts"
import type { IllegalTransition, SystemTenantProtected } from "../domain/Lifecycle.ts"
import { StoredTenantName, TenantId, TenantName, TenantNameTaken, TenantNotFound } from "../domain/Tenant.ts"
import type { NoActiveDatabase, Tenant } from "../domain/Tenant.ts"
import { Actor, actorContext } from "./Actor.ts"
import { systemTenantRefusal, tenantStatusRefusal } from "./lifecycleErrors.ts"

/**
 * Input of `create`. Every tenant starts pending (the lifecycle allows no
 * other start): it becomes active with `setStatus` once it has an active database.
 */
export const CreateTenantInput = Schema.Struct({
  name: TenantName,
  environment: TenantEnvironment
})
export type CreateTenantInput = typeof CreateTenantInput.Encoded

/** The most tenants one page of `list` gives, and the default. */
export const maxPageSize = 500
export const defaultPageSize = 50

/** Input of `list`: optional filters, page size, and the cursor of the previous page. */
export const ListTenantsInput = Schema.Struct({
  status: Schema.optionalKey(TenantStatus),
  environment: Schema.optionalKey(TenantEnvironment),
  limit: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: maxPageSize }))),
  after: Schema.optionalKey(Schema.String)
})
export type ListTenantsInput = typeof ListTenantsInput.Encoded

export interface TenantPage {
  readonly tenants: ReadonlyArray<Tenant>
  /** Pass as `after` for the next page; null on the last page. */
  readonly nextCursor: string | null
}

export interface TenantsService {
  /** Creates a pending tenant. SystemTenantProtected only for the name system_admin on a database without it. */
  readonly create: (
    input: CreateTenantInput
  ) => Effect.Effect<Tenant, TenantNameTaken | SystemTenantProtected | InvalidInput | DbError, Actor>
  readonly get: (tenantId: string) => Effect.Effect<Tenant, TenantNotFound | InvalidInput | DbError>
  readonly findByName: (name: string) => Effect.Effect<Tenant, TenantNotFound | InvalidInput | DbError>
  /**
   * One page of tenants, oldest first (created_at, then tenant_id). Keyset
   * pagination: rows inserted between pages never shift or repeat a page;
   * they appear on a later page, or not at all if they sort before the cursor.
   */
  readonly list: (input?: ListTenantsInput) => Effect.Effect<TenantPage, InvalidInput | DbError>
  readonly rename: (
    tenantId: string,
    name: string
  ) => Effect.Effect<Tenant, TenantNotFound | TenantNameTaken | SystemTenantProtected | InvalidInput | DbError, Actor>
  readonly setEnvironment: (
    tenantId: string,
    environment: string
  ) => Effect.Effect<Tenant, TenantNotFound | InvalidInput | DbError, Actor>
  /**
   * Moves the tenant to `status`, as the lifecycle allows (setting the status
   * it already has changes nothing and succeeds).
   */
  readonly setStatus: (
    tenantId: string,
    status: string
  ) => Effect.Effect<
    Tenant,
    TenantNotFound | IllegalTransition | NoActiveDatabase | SystemTenantProtected | InvalidInput | DbError,
    Actor
  >
  /** Deletes the tenant and, by the foreign key's ON DELETE CASCADE, its tenant_databases rows. Gives the deleted tenant. */
  readonly delete: (
    tenantId: string
  ) => Effect.Effect<Tenant, TenantNotFound | SystemTenantProtected | InvalidInput | DbError, Actor>
}

// Strict: a caller passing `status` (the lifecycle starts every tenant
// pending) gets InvalidInput rather than a pending tenant it did not ask for.
const decodeCreate = decodeInput(CreateTenantInput, "tenant", { strict: true })
const decodeList = decodeInput(ListTenantsInput, "tenant list options")
const decodeTenantId = checkInput(TenantId, "tenant id")
const decodeName = checkInput(TenantName, "tenant name")
const decodeNameToFind = checkInput(StoredTenantName, "tenant name")
const decodeEnvironment = checkInput(TenantEnvironment, "tenant environment")
const decodeStatus = checkInput(TenantStatus, "tenant status")

// A row plus the exact created_at in microseconds since the epoch: a JS Date
// keeps only milliseconds, too coarse for a cursor.
type TenantRow = Tenants_Row & { readonly created_us: string }

const columns = sql`tenant_id, name, environment, status, created_at, updated_at,
  (extract(epoch FROM created_at) * 1000000)::bigint::text AS created_us`

// Rows come from the database through the generated types, whose enums and
// uuid are the domain's (test/domain/enums.test.ts), so the record is built
// without re-validating each field on every read.
const toTenant = (row: Tenants_Row): Tenant => ({
  tenantId: row.tenant_id as TenantId,
  name: row.name,
  environment: row.environment,
  status: row.status,
  createdAt: row.created_at,
  updatedAt: row.updated_at
})

// The cursor is opaque to callers: base64url of "<created_us>:<tenant_id>".
interface Cursor {
  readonly createdUs: string
  readonly tenantId: string
}
const encodeCursor = (row: TenantRow): string =>
  Buffer.from(`${row.created_us}:${row.tenant_id}`, "utf8").toString("base64url")

const cursorShape = /^(-?\d{1,20}):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/
// A created_at between the years 1 and 9999, in microseconds since 1970: a
// forged cursor beyond PostgreSQL's timestamps would fail in SQL instead.
const earliestUs = -62135596800000000n
const latestUs = 253402300799999999n
const decodeCursor = (cursor: string): Effect.Effect<Cursor, InvalidInput> => {
  const match = cursorShape.exec(Buffer.from(cursor, "base64url").toString("utf8"))
  return match?.[1] !== undefined && match[2] !== undefined && BigInt(match[1]) >= earliestUs && BigInt(match[1]) <= latestUs
    ? Effect.succeed({ createdUs: match[1], tenantId: match[2] })
    : Effect.fail(new InvalidInput({ message: "Invalid tenant list options: `after` is not a cursor given by list" }))
}

const isNameTaken = (error: DbError): boolean =>
  error.reason._tag === "UniqueViolation" && error.reason.constraint === "tenants_name_key"

/** Runs `self`, turning the name's unique violation into TenantNameTaken. */
const withNameTaken = <A, E, R>(self: Effect.Effect<A, E, R>, name: string): Effect.Effect<A, E | TenantNameTaken, R> =>
  Effect.mapError(self, (error) =>
    error instanceof DbError && isNameTaken(error) ? new TenantNameTaken({ name }) : error
  )

export class Tenants extends Context.Service<Tenants, TenantsService>()("control-plane/Tenants") {
  static readonly layerNoDeps = Layer.effect(
    Tenants,
    Effect.gen(function*() {
      const db = yield* Db

      const one = (query: SQLQuery, notFound: () => TenantNotFound) =>
        db.query<Tenants_Row>(query).pipe(
          Effect.flatMap((rows) => (rows[0] === undefined ? Effect.fail(notFound()) : Effect.succeed(toTenant(rows[0]))))
        )

      const byId = (tenantId: string) => () => new TenantNotFound({ tenantId })

      /** UPDATE one tenant's column as the actor; updated_at is set here as well as by the trigger. */
      const update = (tenantId: TenantId, assignment: SQLQuery) =>
        Effect.gen(function*() {
          const actor = yield* Actor
          return yield* one(
            sql`UPDATE control_plane.tenants SET ${assignment}, updated_at = now()
                FROM ${actorContext(actor)}
                WHERE tenant_id = ${tenantId} RETURNING tenants.*`,
            byId(tenantId)
          )
        })

      const create = Effect.fn("Tenants.create")(function*(input: CreateTenantInput) {
        const { name, environment } = yield* decodeCreate(input)
        const actor = yield* Actor
        const insert = db.query<Tenants_Row>(
          sql`INSERT INTO control_plane.tenants (name, environment, status)
              SELECT ${name}, ${environment}::control_plane.tenant_environment, 'pending'
              FROM ${actorContext(actor)} RETURNING *`
        ).pipe(
          // INSERT ... RETURNING gives its row or fails: no row is a bug, not a case to handle.
          Effect.flatMap((rows) => (rows[0] === undefined ? Effect.die("INSERT gave no row") : Effect.succeed(toTenant(rows[0]))))
        )
        return yield* withNameTaken(insert, name)
      }, Effect.mapError(systemTenantRefusal))

      // The two lookups are the hot path (every request that resolves a
      // tenant), so they skip Effect.fn's per-call span and stack capture:
      // profiled under bench/tenantLookup.ts, that alone cost about 25 µs of
      // CPU per lookup, a third of the bare query's. Everything else stays
      // traced.
      const get = Effect.fnUntraced(function*(tenantId: string) {
        const id = yield* decodeTenantId(tenantId)
        return yield* one(sql`SELECT * FROM control_plane.tenants WHERE tenant_id = ${id}`, byId(id))
      })

      const findByName = Effect.fnUntraced(function*(name: string) {
        const valid = yield* decodeNameToFind(name)
        return yield* one(
          sql`SELECT * FROM control_plane.tenants WHERE name = ${valid}`,
          () => new TenantNotFound({ name: valid })
        )
      })

      const list = Effect.fn("Tenants.list")(function*(input: ListTenantsInput = {}) {
        const options = yield* decodeList(input)
        const limit = options.limit ?? defaultPageSize
        const conditions: Array<SQLQuery> = []
        if (options.status !== undefined) conditions.push(sql`status = ${options.status}`)
        if (options.environment !== undefined) conditions.push(sql`environment = ${options.environment}`)
        if (options.after !== undefined) {
          const cursor = yield* decodeCursor(options.after)
          conditions.push(
            sql`(created_at, tenant_id) > (timestamptz 'epoch' + ${cursor.createdUs}::bigint * interval '1 microsecond', ${cursor.tenantId}::uuid)`
          )
        }
        const where = conditions.length === 0 ? sql`` : sql`WHERE ${sql.join(conditions, sql` AND `)}`
        // One row more than the page tells whether another page follows.
        const rows = yield* db.query<TenantRow>(
          sql`SELECT ${columns} FROM control_plane.tenants ${where}
              ORDER BY created_at, tenant_id LIMIT ${limit + 1}`
        )
        const page = rows.slice(0, limit)
        const last = page[page.length - 1]
        return {
          tenants: page.map(toTenant),
          nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last) : null
        }
      })

      const rename = Effect.fn("Tenants.rename")(function*(tenantId: string, name: string) {
        const id = yield* decodeTenantId(tenantId)
        const valid = yield* decodeName(name)
        return yield* withNameTaken(update(id, sql`name = ${valid}`), valid)
      }, Effect.mapError(systemTenantRefusal))

      const setEnvironment = Effect.fn("Tenants.setEnvironment")(function*(tenantId: string, environment: string) {
        const id = yield* decodeTenantId(tenantId)
        const valid = yield* decodeEnvironment(environment)
        return yield* update(id, sql`environment = ${valid}`)
      })

      const setStatus = Effect.fn("Tenants.setStatus")(function*(tenantId: string, status: string) {
        const id = yield* decodeTenantId(tenantId)
        const valid = yield* decodeStatus(status)
        return yield* update(id, sql`status = ${valid}`)
      }, Effect.mapError(tenantStatusRefusal))

      const remove = Effect.fn("Tenants.delete")(function*(tenantId: string) {
        const id = yield* decodeTenantId(tenantId)
        const actor = yield* Actor
        return yield* one(
          sql`DELETE FROM control_plane.tenants USING ${actorContext(actor)} WHERE tenant_id = ${id} RETURNING tenants.*`,
          byId(id)
        )
      }, Effect.mapError(systemTenantRefusal))

      return Tenants.of({ create, get, findByName, list, rename, setEnvironment, setStatus, delete: remove })
    })
  )

  /** Tenants on a Db configured from the environment. */
  static readonly layer = Tenants.layerNoDeps.pipe(Layer.provide(Db.layer))
}
