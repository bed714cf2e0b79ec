/**
 * The driver-error classifier, fed fake error objects shaped like what
 * @databases/pg and node-postgres throw: the faults a live database cannot be
 * made to produce on demand in every variant. Db.test.ts shows the common
 * ones against the real server.
 */
import { assert, describe, it } from "@effect/vitest"
import { classifyPgError, toDbError } from "../../src/db/pgErrors.ts"
import { ActivationRefused, SystemTenantRefused, TransitionRefused, UniqueViolation, Unknown } from "../../src/domain/errors.ts"

const sqlError = (code: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`boom\n\n> 1 | INSERT INTO tenants (name) VALUES ($1)\n`), { code, ...extra })

describe("classifyPgError", () => {
  it("maps constraint violations with their constraint name", () => {
    assert.deepStrictEqual(classifyPgError(sqlError("23505", { constraint: "tenants_name_key" })), new UniqueViolation({ constraint: "tenants_name_key" }))
    const fk = classifyPgError(sqlError("23503", { constraint: "tenant_databases_tenant_id_fkey" }))
    assert.strictEqual(fk._tag, "ForeignKeyViolation")
    assert.strictEqual(fk._tag === "ForeignKeyViolation" ? fk.constraint : "", "tenant_databases_tenant_id_fkey")
  })

  it("keeps the reason when the driver names no constraint", () => {
    const reason = classifyPgError(sqlError("23505"))
    assert.strictEqual(reason._tag, "UniqueViolation")
    assert.strictEqual(reason._tag === "UniqueViolation" ? reason.constraint : "", "unknown")
  })

  it("maps a value PostgreSQL cannot read as its type", () => {
    assert.strictEqual(classifyPgError(sqlError("22P02"))._tag, "InvalidTextRepresentation")
    assert.strictEqual(classifyPgError(sqlError("22021"))._tag, "InvalidTextRepresentation")
  })

  it("maps statement and pool-queue timeouts to QueryTimeout", () => {
    assert.strictEqual(classifyPgError(sqlError("57014"))._tag, "QueryTimeout")
    assert.strictEqual(classifyPgError(sqlError("CONNECTION_POOL:QUEUE_TIMEOUT"))._tag, "QueryTimeout")
  })

  it("maps every way of losing or never getting a connection to ConnectionError", () => {
    const codes = [
      "ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EHOSTUNREACH", // sockets
      "08006", "08001", "08P01", // class 08: connection exception
      "57P01", "57P02", "57P03", // shutdown, crash, starting up
      "53300", // too many connections
      "CONNECTION_POOL:OPEN_TIMEOUT"
    ]
    for (const code of codes) {
      assert.strictEqual(classifyPgError(sqlError(code))._tag, "ConnectionError", code)
    }
    for (const message of ["Connection terminated unexpectedly", "Connection terminated due to connection timeout", "timeout expired"]) {
      assert.strictEqual(classifyPgError(new Error(message))._tag, "ConnectionError", message)
    }
  })

  it("maps a refused login to LoginRefused and a missing database to UnknownDatabase", () => {
    for (const code of ["28P01", "28000"]) assert.strictEqual(classifyPgError(sqlError(code))._tag, "LoginRefused", code)
    assert.strictEqual(classifyPgError(sqlError("3D000"))._tag, "UnknownDatabase")
  })

  it("maps an undefined table, schema or type to SchemaMissing", () => {
    for (const code of ["42P01", "3F000", "42704"]) {
      assert.strictEqual(classifyPgError(sqlError(code))._tag, "SchemaMissing", code)
    }
    assert.strictEqual(toDbError(sqlError("42P01")).message, "Database error: the control_plane schema is missing from the database")
  })

  it("keeps an unknown SQLSTATE and nothing else", () => {
    assert.deepStrictEqual(classifyPgError(sqlError("42P02")), new Unknown({ code: "42P02" }))
    assert.deepStrictEqual(classifyPgError(sqlError("not-a-sqlstate")), new Unknown({}))
    assert.deepStrictEqual(classifyPgError(new Error("Aborted")), new Unknown({}))
    assert.deepStrictEqual(classifyPgError("a string"), new Unknown({}))
    assert.deepStrictEqual(classifyPgError(null), new Unknown({}))
  })
})

describe("classifyPgError: the lifecycle triggers' refusals (routines.hcl)", () => {
  const detail = (fields: Record<string, unknown>) => ({ detail: JSON.stringify(fields) })

  it("reads LC001's DETAIL into TransitionRefused, with null for a new row", () => {
    const fields = { entity: "tenant", id: "t-1", name: "acme", from: "pending", to: "suspended", allowed: ["active", "inactive"] }
    assert.deepStrictEqual(classifyPgError(sqlError("LC001", detail(fields))), new TransitionRefused(fields as never))
    const born = classifyPgError(sqlError("LC001", detail({ ...fields, entity: "database", from: null, to: "error" })))
    assert.strictEqual(born._tag, "TransitionRefused")
    assert.isNull(born._tag === "TransitionRefused" ? born.from : "")
  })

  it("reads LC002 into ActivationRefused and LC003 into SystemTenantRefused", () => {
    assert.deepStrictEqual(
      classifyPgError(sqlError("LC002", detail({ id: "t-1", name: "acme" }))),
      new ActivationRefused({ tenantId: "t-1", name: "acme" })
    )
    assert.deepStrictEqual(
      classifyPgError(sqlError("LC003", detail({ operation: "status", to: "suspended" }))),
      new SystemTenantRefused({ operation: "status", to: "suspended" })
    )
    assert.deepStrictEqual(classifyPgError(sqlError("LC003", detail({ operation: "delete" }))), new SystemTenantRefused({ operation: "delete" }))
  })

  it("keeps an LC code with a missing or unreadable DETAIL as Unknown", () => {
    assert.deepStrictEqual(classifyPgError(sqlError("LC001")), new Unknown({ code: "LC001" }))
    assert.deepStrictEqual(classifyPgError(sqlError("LC002", { detail: "not json" })), new Unknown({ code: "LC002" }))
    assert.deepStrictEqual(classifyPgError(sqlError("LC003", detail({ operation: "explode" }))), new Unknown({ code: "LC003" }))
  })
})

describe("toDbError", () => {
  it("never carries the driver's message, SQL, parameters or URL", () => {
    const secret = "postgres://admin:hunter2@db.internal:5432/control"
    const driverError = Object.assign(
      new Error(`duplicate key value violates unique constraint\n> INSERT INTO t VALUES ('acme') -- ${secret}`),
      { code: "23505", constraint: "tenants_name_key", detail: "Key (name)=(acme) already exists.", table: "tenants" }
    )
    const error = toDbError(driverError)
    const shown = [error.message, String(error), JSON.stringify(error), error.stack ?? ""].join("\n")
    for (const leak of ["INSERT", "hunter2", "db.internal", "acme", "Key (name)"]) {
      assert.notInclude(shown, leak)
    }
    assert.strictEqual(error.message, "Database error: unique constraint tenants_name_key refused a duplicate")
    assert.isFalse(error.isRetryable)
  })

  it("marks connection trouble and timeouts retryable", () => {
    assert.isTrue(toDbError(sqlError("ECONNREFUSED")).isRetryable)
    assert.isTrue(toDbError(sqlError("57014")).isRetryable)
    assert.isFalse(toDbError(sqlError("22P02")).isRetryable)
  })
})
