/**
 * The invalidation listener: LISTEN control_plane_tenant_changes on a
 * connection of its own (node-postgres directly: @databases/pg has no LISTEN),
 * reconnecting for as long as it runs.
 *
 *   - `onLive(true)` once LISTEN is in place, `onLive(false)` the moment the
 *     connection is lost: the cache flushes on both and serves nothing in
 *     between, since NOTIFY is never replayed.
 *   - The listener proves it receives: before going live, and then every
 *     `pingMs`, it notifies its own channel with a fresh nonce (`ping:<uuid>`)
 *     and must get it back within the connect timeout (then `pingMs`). A
 *     connection that died silently (a network that drops packets without a
 *     reset), or one that accepts LISTEN but never delivers (PgBouncer in
 *     transaction mode), fails this, is dropped and made again, and the cache
 *     serves nothing meanwhile.
 *   - Reconnects back off from 100 ms to 5 s.
 *
 * It needs a session of its own on PostgreSQL: through PgBouncer in
 * transaction mode notifications never arrive (see the README);
 * CONTROL_PLANE_LISTENER_URL gives it a direct connection then.
 */
import { randomUUID } from "node:crypto"
import { Clock, Effect, Redacted } from "effect"
import pg, { type PgClient } from "pg"
import { classifyPgError } from "../../db/pgErrors.ts"

/** The channel the triggers of routines.hcl notify. */
export const invalidationChannel = "control_plane_tenant_changes"

/** application_name of the listener's connection (it shows in pg_stat_activity). */
export const listenerApplicationName = "control-plane listener"

const { Client } = pg

export interface ListenerOptions {
  readonly url: Redacted.Redacted<string>
  readonly connectTimeoutMs: number
  readonly pingMs: number
  readonly onLive: (live: boolean) => void
  readonly onNotification: (payload: string) => void
}

const minBackoffMs = 100
const maxBackoffMs = 5_000
const echoPrefix = "ping:"

/** The listener's own notification never came back: LISTEN is accepted but nothing is delivered. */
class NotificationsNotDelivered extends Error {}

/** Notifications the listener sent itself (from any instance): not tenant changes. */
export const isEcho = (payload: string): boolean => payload.startsWith(echoPrefix)

/** What each way of losing the listener means, for the log line. */
const lostBecause: Record<string, string> = {
  NotificationsNotDelivered:
    "The tenant invalidation listener receives no notifications on its connection (through PgBouncer in transaction mode? " +
    "set CONTROL_PLANE_LISTENER_URL to a direct connection); tenant resolutions are read from the database",
  PingUnanswered:
    "The tenant invalidation listener's connection stopped answering; tenant resolutions are read from the database until it is back"
}
const lostConnection =
  "The tenant invalidation listener lost its connection; tenant resolutions are read from the database until it is back"

/**
 * Notifies the listener's channel with a fresh nonce on `client` and resolves
 * true once it comes back to `waiting` within `timeoutMs`, false otherwise.
 */
const echo = (client: PgClient, waiting: Map<string, () => void>, timeoutMs: number): Promise<boolean> =>
  new Promise<boolean>((resolve) => {
    const nonce = `${echoPrefix}${randomUUID()}`
    const done = (received: boolean) => {
      clearTimeout(timer)
      waiting.delete(nonce)
      resolve(received)
    }
    const timer = setTimeout(() => done(false), timeoutMs)
    waiting.set(nonce, () => done(true))
    client.query("SELECT pg_notify($1, $2)", [invalidationChannel, nonce]).catch(() => done(false))
  })

/**
 * Ends the connection politely (Terminate, then FIN), or drops the socket when
 * that is not done within `timeoutMs`: on a dead network nothing acknowledges
 * the goodbye, and TCP would keep retrying it for many minutes, holding up the
 * reconnect or the layer's close. (@databases/pg drops its pools' sockets the same way.)
 */
const endWithin = (client: PgClient, timeoutMs: number): Promise<void> =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      client.connection?.stream?.destroy()
      resolve()
    }, timeoutMs)
    client.end().catch(() => undefined).finally(() => {
      clearTimeout(timer)
      resolve()
    })
  })

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
        const echoes = new Map<string, () => void>()
        client.on("notification", (message) => {
          if (message.channel !== invalidationChannel) return
          const payload = message.payload ?? ""
          if (isEcho(payload)) echoes.get(payload)?.()
          else options.onNotification(payload)
        })
        try {
          await client.connect()
          await client.query(`LISTEN ${invalidationChannel}`)
          if (!(await echo(client, echoes, options.connectTimeoutMs))) throw new NotificationsNotDelivered()
        } catch (error) {
          await endWithin(client, options.connectTimeoutMs)
          throw error
        }
        return { client, failed, echoes }
      },
      catch: (error) => (error instanceof NotificationsNotDelivered ? "NotificationsNotDelivered" : classifyPgError(error)._tag)
    }),
    ({ client, failed, echoes }) =>
      Effect.gen(function*() {
        options.onLive(true)
        const ping = Effect.gen(function*() {
          while (true) {
            yield* Effect.sleep(options.pingMs)
            if (!(yield* Effect.promise(() => echo(client, echoes, options.pingMs)))) return "PingUnanswered"
          }
        })
        return yield* Effect.raceFirst(Effect.promise(() => failed), ping)
      }),
    ({ client }) =>
      Effect.sync(() => options.onLive(false)).pipe(
        Effect.andThen(Effect.promise(() => endWithin(client, options.connectTimeoutMs)))
      )
  )

/** Runs the listener until interrupted: a session, then a backoff, then another session. */
export const runListener = (options: ListenerOptions): Effect.Effect<never> =>
  Effect.gen(function*() {
    let backoffMs = minBackoffMs
    while (true) {
      const started = yield* Clock.currentTimeMillis
      const reason = yield* session(options).pipe(Effect.catch((reason) => Effect.succeed(reason)))
      yield* Effect.logWarning(lostBecause[reason] ?? lostConnection).pipe(Effect.annotateLogs({ reason }))
      // A session that lasted resets the backoff; one that failed at once doubles it.
      backoffMs = (yield* Clock.currentTimeMillis) - started > maxBackoffMs ? minBackoffMs : Math.min(backoffMs * 2, maxBackoffMs)
      yield* Effect.sleep(backoffMs)
    }
  })
