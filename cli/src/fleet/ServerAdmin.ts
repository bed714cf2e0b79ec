/**
 * What provisioning does on a database server, through its admin connection:
 * create (or find) a tenant's role and database, and drop them again. Every
 * statement is idempotent, so a step that crashed half-way is simply run
 * again, and every identifier is quoted.
 *
 * The role's password never reaches SQL text: PostgreSQL accepts a SCRAM
 * verifier in place of a password (as psql's \password sends it), so the
 * server, its statement log and any error only ever see the verifier, from
 * which the password cannot be recovered.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto"
import { Effect, Redacted, Schema } from "effect"
import { type DbError, type DbService, sql } from "../library.ts"
import type { TenantNames } from "./names.ts"

/** A new random password: 32 URL-safe characters (192 bits). */
export const generatePassword = (): Redacted.Redacted<string> => Redacted.make(randomBytes(24).toString("base64url"))

const scramIterations = 4096

/** The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677, as libpq's PQencryptPasswordConn makes it). */
export const scramVerifier = (password: Redacted.Redacted<string>): string => {
  const salt = randomBytes(16)
  const salted = pbkdf2Sync(Redacted.value(password), salt, scramIterations, 32, "sha256")
  const clientKey = createHmac("sha256", salted).update("Client Key").digest()
  const storedKey = createHash("sha256").update(clientKey).digest()
  const serverKey = createHmac("sha256", salted).update("Server Key").digest()
  return `SCRAM-SHA-256$${scramIterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`
}

const verifierShape = /^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/

/** The server holds a database of the tenant's name that belongs to another role: not ours to take over. */
export class DatabaseNameConflict extends Schema.TaggedError<DatabaseNameConflict>()("DatabaseNameConflict", {
  database: Schema.String
}) {
  override get message(): string {
    return `A database named ${this.database} already exists on the server and is owned by another role`
  }
}

/**
 * Makes sure the role exists with this password and owns a database of the
 * same name that PUBLIC may not connect to. Safe to run again at any point.
 */
export const ensureRoleAndDatabase = (
  db: DbService,
  names: TenantNames,
  password: Redacted.Redacted<string>
): Effect.Effect<void, DbError | DatabaseNameConflict> =>
  Effect.gen(function*() {
    const verifier = scramVerifier(password)
    // The verifier is base64 and punctuation only; checked so that it can be a literal.
    if (!verifierShape.test(verifier)) return yield* Effect.die("unexpected SCRAM verifier shape")
    const literal = sql.__dangerous__rawValue(`'${verifier}'`)
    const role = sql.ident(names.role)
    const roles = yield* db.query(sql`SELECT 1 FROM pg_roles WHERE rolname = ${names.role}`)
    // A re-run sets the password again: it is the one the registered connection string holds.
    yield* db.query(
      roles.length === 0
        ? sql`CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD ${literal}`
        : sql`ALTER ROLE ${role} LOGIN PASSWORD ${literal}`
    )
    const databases = yield* db.query<{ owner: string }>(
      sql`SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = ${names.database}`
    )
    if (databases[0] === undefined) {
      // CREATE DATABASE cannot run in a transaction: a statement of its own.
      yield* db.query(sql`CREATE DATABASE ${sql.ident(names.database)} OWNER ${role}`)
    } else if (databases[0].owner !== names.role) {
      return yield* new DatabaseNameConflict({ database: names.database })
    }
    // The owner keeps CONNECT; no other role (but superusers) may connect.
    yield* db.query(sql`REVOKE CONNECT ON DATABASE ${sql.ident(names.database)} FROM PUBLIC`)
  })

/** Drops the database (closing its sessions) and then the role; both may already be gone. */
export const dropRoleAndDatabase = (db: DbService, names: TenantNames): Effect.Effect<void, DbError> =>
  Effect.gen(function*() {
    yield* db.query(sql`DROP DATABASE IF EXISTS ${sql.ident(names.database)} WITH (FORCE)`)
    yield* db.query(sql`DROP ROLE IF EXISTS ${sql.ident(names.role)}`)
  })

/**
 * The tenant's connection string: its role and password on the server's host
 * and port, with the admin connection string's parameters (sslmode, ...) when
 * that is a URL.
 */
export const tenantConnectionString = (
  adminUrl: Redacted.Redacted<string>,
  server: { readonly host: string; readonly port: number },
  names: TenantNames,
  password: Redacted.Redacted<string>
): Redacted.Redacted<string> => {
  const admin = Redacted.value(adminUrl)
  const url = new URL("postgres://localhost/")
  url.hostname = server.host.includes(":") ? `[${server.host}]` : server.host
  url.port = String(server.port)
  url.username = encodeURIComponent(names.role)
  url.password = encodeURIComponent(Redacted.value(password))
  url.pathname = `/${encodeURIComponent(names.database)}`
  if (/^postgres(ql)?:\/\//i.test(admin) && URL.canParse(admin)) {
    for (const [key, value] of new URL(admin).searchParams) url.searchParams.set(key, value)
  } else {
    const sslmode = /(?:^|\s)sslmode\s*=\s*(\w+)/.exec(admin)?.[1]
    if (sslmode !== undefined) url.searchParams.set("sslmode", sslmode)
  }
  return Redacted.make(url.toString())
}

/** The password held by a tenant connection string made by tenantConnectionString. */
export const passwordOf = (connectionString: Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.make(decodeURIComponent(new URL(Redacted.value(connectionString)).password))
