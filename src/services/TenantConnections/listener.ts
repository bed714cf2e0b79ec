/**
 * The invalidation listener: LISTEN control_plane_tenant_changes on a
 * connection of its own (node-postgres directly: @databases/pg has no LISTEN),
 * reconnecting for as long as it runs.
 *
 *   - `onLive(true)` once LISTEN is in place, `onLive(false)` the moment the
 *     connection is lost: the cache flushes on both and serves nothing in
 *     between, since NOTIFY is never replayed.
 *   - A dead connection can fail silently (a network that drops packets
 *     without a reset): every `pingMs` a `SELECT 1` must answer within
 *     `pingMs`, else the connection is dropped and made again.
 *   - Reconnects back off from 100 ms to 5 s.
 *
 * It needs a direct connection to PostgreSQL: through PgBouncer in
 * transaction mode LISTEN does not work (see the README).
 */
import { createRequire } from "node:module"
import { Clock, Effect, Redacted } from "effect"
import { classifyPgError } from "../../db/pgErrors.ts"

/** The channel the triggers of routines.hcl notify. */
export const invalidationChannel = "control_plane_tenant_changes"

/** application_name of the listener's connection (it shows in pg_stat_activity). */
export const listenerApplicationName = "control-plane listener"

/** The slice of node-postgres's Client the listener uses (no @types/pg: the driver's types are not a dependency). */
interface PgClient {
  connect(): Promise<void>
  query(text: string): Promise<unknown>
  end(): Promise<void>
  on(event: "notification", listener: (message: { readonly channel: string; readonly payload?: string }) => void): void
  on(event: "error", listener: (error: Error) => void): void
  on(event: "end", listener: () => void): void
}

const { Client } = createRequire(import.meta.url)("pg") as {
  Client: new (config: {
    readonly connectionString: string
    readonly application_name: string
    readonly connectionTimeoutMillis: number
    readonly keepAlive: boolean
  }) => PgClient
}

export interface ListenerOptions {
  readonly url: Redacted.Redacted<string>
  readonly connectTimeoutMs: number
  readonly pingMs: number
  readonly onLive: (live: boolean) => void
  readonly onNotification: (payload: string) => void
}

const minBackoffMs = 100
const maxBackoffMs = 5_000

/** One connection's life: connect, LISTEN, then wait until it fails or stops answering pings. */
const session = (options: ListenerOptions) =>
  Effect.acquireUseRelease(
    Effect.tryPromise({
      try: async () => {
        const client = new Client({
          connectionString: Redacted.value(options.url),
          application_name: listenerApplicationName,
          connectionTimeoutMillis: options.connectTimeoutMs,
          keepAlive: true
        })
        // An 'error' event without a listener would crash the process.
        const failed = new Promise<string>((resolve) => {
          client.on("error", (error) => resolve(classifyPgError(error)._tag))
          client.on("end", () => resolve("ConnectionError"))
        })
        client.on("notification", (message) => {
          if (message.channel === invalidationChannel) options.onNotification(message.payload ?? "")
        })
        try {
          await client.connect()
          await client.query(`LISTEN ${invalidationChannel}`)
        } catch (error) {
          await client.end().catch(() => undefined)
          throw error
        }
        return { client, failed }
      },
      catch: (error) => classifyPgError(error)._tag
    }),
    ({ client, failed }) =>
      Effect.gen(function*() {
        options.onLive(true)
        const ping = Effect.gen(function*() {
          while (true) {
            yield* Effect.sleep(options.pingMs)
            const answered = yield* Effect.tryPromise(() => client.query("SELECT 1")).pipe(
              Effect.timeoutOption(options.pingMs),
              Effect.orElseSucceed(() => undefined)
            )
            if (answered === undefined || answered._tag === "None") return "PingUnanswered"
          }
        })
        return yield* Effect.raceFirst(Effect.promise(() => failed), ping)
      }),
    ({ client }) =>
      Effect.sync(() => options.onLive(false)).pipe(
        Effect.andThen(Effect.promise(() => client.end().catch(() => undefined)))
      )
  )

/** Runs the listener until interrupted: a session, then a backoff, then another session. */
export const runListener = (options: ListenerOptions): Effect.Effect<never> =>
  Effect.gen(function*() {
    let backoffMs = minBackoffMs
    while (true) {
      const started = yield* Clock.currentTimeMillis
      const reason = yield* session(options).pipe(Effect.catch((reason) => Effect.succeed(reason)))
      yield* Effect.logWarning(
        "The tenant invalidation listener lost its connection; tenant resolutions are read from the database until it is back"
      ).pipe(Effect.annotateLogs({ reason }))
      // A session that lasted resets the backoff; one that failed at once doubles it.
      backoffMs = (yield* Clock.currentTimeMillis) - started > maxBackoffMs ? minBackoffMs : Math.min(backoffMs * 2, maxBackoffMs)
      yield* Effect.sleep(backoffMs)
    }
  })
