/**
 * The lifecycle the database enforces, tried with random sequences of moves
 * (fast-check): through the services and through plain SQL, every move is
 * accepted or refused exactly as the transition table says (read from the
 * database's control_plane.lifecycle_moves(), the one place it is written),
 * plus the two rules beside the table: a tenant becomes active only with an
 * active database, and system_admin never moves. After every step the
 * database holds exactly what the model holds. The README's table is checked
 * against the same function.
 */
import { readFile } from "node:fs/promises"
import fc from "fast-check"
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Db, sql } from "../../src/db/Db.ts"
import { projectFile } from "../../cli/src/schema/paths.ts"
import { TenantDatabases } from "../../src/services/TenantDatabases.ts"
import { Tenants } from "../../src/services/Tenants.ts"
import { databaseStatuses, tenantStatuses } from "../../src/domain/enums.ts"
import type { Actor } from "../../src/services/Actor.ts"
import { testActor, testDbLayer } from "../db/testDb.ts"
import { testCryptoLayer } from "../support/crypto.ts"

type Table = Record<string, ReadonlyArray<string>>
interface Moves {
  readonly tenant: Table
  readonly database: Table
}

const layer = Layer.mergeAll(Tenants.layerNoDeps, TenantDatabases.layerNoDeps).pipe(
  Layer.provideMerge(testDbLayer("lifecycle")),
  Layer.provide(testCryptoLayer()),
  Layer.merge(testActor())
)
let runtime: ManagedRuntime.ManagedRuntime<Tenants | TenantDatabases | Db | Actor, unknown>
let moves: Moves

const run = <A>(effect: Effect.Effect<A, unknown, Tenants | TenantDatabases | Db | Actor>): Promise<A> => runtime.runPromise(effect)

beforeAll(async () => {
  runtime = ManagedRuntime.make(layer)
  const [row] = await run(Db.use((db) => db.query<{ moves: Moves }>(sql`SELECT control_plane.lifecycle_moves() AS moves`)))
  moves = row!.moves
})
afterAll(() => runtime?.dispose())

// ---------------------------------------------------------------------------
// Commands and the model
// ---------------------------------------------------------------------------

type Via = "service" | "sql"
type Command =
  | { readonly kind: "tenant"; readonly tenant: number; readonly to: string; readonly via: Via }
  | { readonly kind: "addDatabase"; readonly tenant: number; readonly status: string; readonly via: Via }
  | { readonly kind: "database"; readonly tenant: number; readonly database: number; readonly to: string; readonly via: Via }
  | { readonly kind: "removeDatabase"; readonly tenant: number; readonly database: number }
  | { readonly kind: "systemAdmin"; readonly action: "status" | "rename" | "delete"; readonly to: string }

const TENANTS = 3
const via = fc.constantFrom<Via>("service", "sql")
const tenantIndex = fc.integer({ min: 0, max: TENANTS - 1 })
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("tenant" as const), tenant: tenantIndex, to: fc.constantFrom(...tenantStatuses), via }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("addDatabase" as const), tenant: tenantIndex, status: fc.constantFrom(...databaseStatuses), via }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("database" as const),
      tenant: tenantIndex,
      database: fc.nat(3),
      to: fc.constantFrom(...databaseStatuses),
      via
    })
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("removeDatabase" as const), tenant: tenantIndex, database: fc.nat(3) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("systemAdmin" as const),
      action: fc.constantFrom("status" as const, "rename" as const, "delete" as const),
      to: fc.constantFrom("suspended", "inactive", "pending")
    })
  }
)

interface ModelTenant {
  readonly id: string
  status: string
  readonly databases: Array<{ readonly id: string; status: string }>
}

/** What the model says a command should end in. */
type Expected =
  | { readonly outcome: "ok" }
  | { readonly outcome: "IllegalTransition"; readonly from: string | null; readonly to: string; readonly allowed: ReadonlyArray<string> }
  | { readonly outcome: "NoActiveDatabase" }
  | { readonly outcome: "SystemTenantProtected" }
  | { readonly outcome: "skip" } // a database index the tenant does not have

const decide = (table: Table, from: string | null, to: string): Expected => {
  if (from === to) return { outcome: "ok" }
  const allowed = table[from ?? "new"] ?? []
  return allowed.includes(to) ? { outcome: "ok" } : { outcome: "IllegalTransition", from, to, allowed }
}

const expectationFor = (tenants: ReadonlyArray<ModelTenant>, step: Command): Expected => {
  switch (step.kind) {
    case "tenant": {
      const tenant = tenants[step.tenant]!
      const verdict = decide(moves.tenant, tenant.status, step.to)
      if (verdict.outcome !== "ok" || step.to !== "active" || tenant.status === "active") return verdict
      return tenant.databases.some((d) => d.status === "active") ? verdict : { outcome: "NoActiveDatabase" }
    }
    case "addDatabase":
      return decide(moves.database, null, step.status)
    case "database": {
      const database = tenants[step.tenant]!.databases[step.database]
      return database === undefined ? { outcome: "skip" } : decide(moves.database, database.status, step.to)
    }
    case "removeDatabase":
      return tenants[step.tenant]!.databases[step.database] === undefined ? { outcome: "skip" } : { outcome: "ok" }
    case "systemAdmin":
      return { outcome: "SystemTenantProtected" }
  }
}

// ---------------------------------------------------------------------------
// Running a command for real
// ---------------------------------------------------------------------------

/** The outcome as a tag (plus the transition's facts), from a service error or a raw SQLSTATE. */
type Outcome = { readonly outcome: string; readonly from?: string | null; readonly to?: string; readonly allowed?: ReadonlyArray<string> }

const sqlStates: Record<string, string> = { LC001: "IllegalTransition", LC002: "NoActiveDatabase", LC003: "SystemTenantProtected" }

type Services = Tenants | TenantDatabases | Db | Actor
type Attempt = Effect.Effect<unknown, { readonly _tag: string }, Services>

const outcomeOf = (effect: Attempt): Effect.Effect<Outcome, never, Services> =>
  effect.pipe(
    Effect.as<Outcome>({ outcome: "ok" }),
    Effect.catch((error): Effect.Effect<Outcome> => {
      if (error._tag === "IllegalTransition") {
        const { from, to, allowed } = error as unknown as { from: string | null; to: string; allowed: ReadonlyArray<string> }
        return Effect.succeed({ outcome: "IllegalTransition", from, to, allowed })
      }
      if (error._tag === "NoActiveDatabase" || error._tag === "SystemTenantProtected") {
        return Effect.succeed({ outcome: error._tag })
      }
      if (error._tag === "DbError") {
        // Plain SQL: the SQLSTATE is all a psql user gets; read it off the classified reason.
        const reason = (error as unknown as { reason: { _tag: string; from?: string | null; to?: string; allowed?: ReadonlyArray<string> } }).reason
        const tag = { TransitionRefused: "LC001", ActivationRefused: "LC002", SystemTenantRefused: "LC003" }[reason._tag]
        if (tag !== undefined) {
          return Effect.succeed(
            reason._tag === "TransitionRefused"
              ? { outcome: sqlStates[tag]!, from: reason.from ?? null, to: reason.to!, allowed: reason.allowed! }
              : { outcome: sqlStates[tag]! }
          )
        }
      }
      return Effect.succeed({ outcome: `unexpected ${error._tag}` })
    })
  )

const rawSql = (query: ReturnType<typeof sql>) => Db.use((db) => db.query(query))

const perform = (tenants: Array<ModelTenant>, step: Command, adminId: string) =>
  Effect.gen(function*() {
    switch (step.kind) {
      case "tenant": {
        const { id } = tenants[step.tenant]!
        return yield* outcomeOf(
          step.via === "service"
            ? Tenants.use((service) => service.setStatus(id, step.to)) as Attempt
            : rawSql(sql`UPDATE control_plane.tenants SET status = ${step.to} WHERE tenant_id = ${id}`)
        )
      }
      case "addDatabase": {
        const { id: tenantId } = tenants[step.tenant]!
        let created: string | undefined
        const outcome = yield* outcomeOf(
          step.via === "service"
            ? TenantDatabases.use((service) =>
              service.register({
                tenantId,
                connectionString: Redacted.make("postgres://app@db.internal/tenant"),
                databaseName: "tenant",
                host: "db.internal",
                status: step.status as never
              })
            ).pipe(Effect.tap((database) => Effect.sync(() => (created = database.id)))) as Attempt
            : rawSql(sql`
                INSERT INTO control_plane.tenant_databases (tenant_id, connection_string_encrypted, database_name, host, status)
                VALUES (${tenantId}, 'v1:k:AAAA', 'tenant', 'db.internal', ${step.status}) RETURNING id`).pipe(
                Effect.tap((rows) => Effect.sync(() => (created = (rows[0] as { id: string }).id)))
              )
        )
        return { ...outcome, created }
      }
      case "database": {
        const database = tenants[step.tenant]!.databases[step.database]!
        return yield* outcomeOf(
          step.via === "service"
            ? TenantDatabases.use((service) => service.setStatus(database.id, step.to)) as Attempt
            : rawSql(sql`UPDATE control_plane.tenant_databases SET status = ${step.to} WHERE id = ${database.id}`)
        )
      }
      case "removeDatabase": {
        const database = tenants[step.tenant]!.databases[step.database]!
        return yield* outcomeOf(TenantDatabases.use((service) => service.remove(database.id)))
      }
      case "systemAdmin":
        return yield* outcomeOf(
          step.action === "status"
            ? Tenants.use((service) => service.setStatus(adminId, step.to)) as Attempt
            : step.action === "rename"
            ? Tenants.use((service) => service.rename(adminId, `admin-${crypto.randomUUID()}`)) as Attempt
            : Tenants.use((service) => service.delete(adminId)) as Attempt
        )
    }
  })

/** What the database holds for the model's tenants: statuses of tenants and of their databases. */
const snapshot = (ids: ReadonlyArray<string>) =>
  Db.use((db) =>
    db.query<{ tenant_id: string; status: string; databases: string }>(sql`
      SELECT t.tenant_id, t.status::text,
             coalesce(string_agg(d.id || '=' || d.status::text, ',' ORDER BY d.id), '') AS databases
      FROM control_plane.tenants t LEFT JOIN control_plane.tenant_databases d ON d.tenant_id = t.tenant_id
      WHERE t.tenant_id = ANY(${ids}::uuid[])
      GROUP BY t.tenant_id, t.status ORDER BY t.tenant_id`)
  )

const modelSnapshot = (tenants: ReadonlyArray<ModelTenant>) =>
  [...tenants]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((t) => ({
      tenant_id: t.id,
      status: t.status,
      databases: [...t.databases].sort((a, b) => a.id.localeCompare(b.id)).map((d) => `${d.id}=${d.status}`).join(",")
    }))

const apply = (tenants: Array<ModelTenant>, step: Command, created: string | undefined) => {
  switch (step.kind) {
    case "tenant":
      tenants[step.tenant]!.status = step.to
      return
    case "addDatabase":
      tenants[step.tenant]!.databases.push({ id: created!, status: step.status })
      return
    case "database":
      tenants[step.tenant]!.databases[step.database]!.status = step.to
      return
    case "removeDatabase":
      tenants[step.tenant]!.databases.splice(step.database, 1)
      return
    case "systemAdmin":
      return
  }
}

describe("lifecycle: random sequences of moves against the database and its transition table", () => {
  it("every move is accepted or refused as the table and the two rules say, and the database matches the model", async () => {
    const admin = await run(Tenants.use((service) => service.findByName("system_admin")))
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 14 }), async (steps) => {
        const tenants: Array<ModelTenant> = []
        for (let i = 0; i < TENANTS; i++) {
          const created = await run(Tenants.use((service) => service.create({ name: `lc-${crypto.randomUUID()}`, environment: "development" })))
          tenants.push({ id: created.tenantId, status: "pending", databases: [] })
        }
        for (const step of steps) {
          const expected = expectationFor(tenants, step)
          if (expected.outcome === "skip") continue
          const actual = await run(perform(tenants, step, admin.tenantId))
          const { created, ...outcome } = actual as Outcome & { created?: string }
          expect(outcome, JSON.stringify(step)).toEqual(expected)
          if (expected.outcome === "ok") apply(tenants, step, created)
          expect(await run(snapshot(tenants.map((t) => t.id)))).toEqual(modelSnapshot(tenants))
        }
        const after = await run(Tenants.use((service) => service.findByName("system_admin")))
        expect(after).toEqual(admin)
      }),
      { numRuns: 40 }
    )
  })

  it("the table allows some moves and refuses others from every status (it is not trivially open or shut)", () => {
    expect(Object.keys(moves.tenant).sort()).toEqual([...tenantStatuses, "new"].sort())
    expect(Object.keys(moves.database).sort()).toEqual([...databaseStatuses, "new"].sort())
    for (const table of [moves.tenant, moves.database]) {
      const reachable = new Set(Object.values(table).flat())
      expect(reachable.size).toBeGreaterThan(1)
      for (const targets of Object.values(table)) expect(targets.length).toBeLessThan(Object.keys(table).length - 1)
    }
  })

  it("the README's lifecycle tables are exactly control_plane.lifecycle_moves()", async () => {
    const readme = await readFile(projectFile("README.md"), "utf8")
    /** Rows `| from | to, to |` of the table under the heading that names `entity`. */
    const tableIn = (heading: string): Table => {
      const start = readme.indexOf(heading)
      expect(start, `README has "${heading}"`).toBeGreaterThan(-1)
      const rows = readme.slice(start).split("\n").slice(1)
      const table: Record<string, Array<string>> = {}
      let seen = false
      for (const line of rows) {
        if (!line.startsWith("|")) {
          if (seen) break
          continue
        }
        seen = true
        const [from, to] = line.split("|").slice(1, 3).map((cell) => cell.trim().replaceAll("`", ""))
        if (from === undefined || to === undefined || from === "from" || /^-+$/.test(from)) continue
        table[from === "(new)" ? "new" : from] = to === "none" ? [] : to.split(",").map((s) => s.trim().replace(/\\?\*$/, ""))
      }
      return table
    }
    expect(tableIn("Tenant statuses")).toEqual(moves.tenant)
    expect(tableIn("Tenant database statuses")).toEqual(moves.database)
  })
})
