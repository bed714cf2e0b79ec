/**
 * `keys rotate`: re-encrypts every stored connection string that is not yet
 * under the primary key, in batches, each committed on its own (so an
 * interrupted run resumes where it stopped). A progress bar on a terminal, a
 * plain summary line otherwise.
 */
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { loadKeyRing } from "../../library.ts"
import { DatabaseServers, TenantDatabases } from "../../library.ts"
import type { ReencryptProgress } from "../../library.ts"
import { jsonFlag, printJson } from "../../output.ts"
import { drawBar, endBar } from "./progressBar.ts"

/** The primary key id of the configured ring (already loaded once by the service, so it cannot fail differently). */
const primaryKey = Effect.map(loadKeyRing, (ring) => ring.primary.id as string)

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`

export const summary = (result: ReencryptProgress, primaryKeyId: string): string =>
  result.total === 0
    ? "No connection strings are stored: nothing to re-encrypt."
    : `Re-encrypted ${plural(result.reencrypted, "connection string", "connection strings")} under key ${primaryKeyId}; ` +
      `${result.alreadyCurrent} ${result.alreadyCurrent === 1 ? "was" : "were"} already under it (${result.total} in all).`

export const commandKeysRotate = Command.make(
  "rotate",
  {
    batchSize: Flag.Int("batch-size").pipe(
      Flag.withDescription("Rows per batch, each batch one transaction (1 to 10000, default 100)."),
      Flag.optional
    ),
    json: jsonFlag
  },
  ({ batchSize, json }) =>
    Effect.gen(function*() {
      const databases = yield* TenantDatabases
      const onTerminal = process.stderr.isTTY === true && !json
      let drawn = false
      const result = yield* databases.reencryptAll({
        ...Option.match(batchSize, { onNone: () => ({}), onSome: (size) => ({ batchSize: size }) }),
        ...(onTerminal
          ? {
            onProgress: (progress: ReencryptProgress) => {
              drawn = true
              return drawBar(progress.alreadyCurrent + progress.reencrypted, progress.total)
            }
          }
          : {})
      }).pipe(Effect.ensuring(Effect.suspend(() => (drawn ? endBar : Effect.void))))
      // The servers' admin connection strings are few: one transaction after the batches.
      const servers = yield* (yield* DatabaseServers).reencryptAll()
      const primaryKeyId = yield* primaryKey
      if (json) return yield* printJson({ primaryKeyId, ...result, servers })
      yield* Console.log(summary(result, primaryKeyId))
      if (servers > 0) {
        yield* Console.log(`Re-encrypted ${plural(servers, "database server admin connection string", "database server admin connection strings")} too.`)
      }
    })
).pipe(
  Command.withDescription(
    "Re-encrypt every stored connection string under the primary key (CONTROL_PLANE_PRIMARY_KEY_ID), tenant databases' in batches, each committed on its own: safe to interrupt and run again. Rotation: add the new key to CONTROL_PLANE_ENCRYPTION_KEYS, make it primary, run this, check `keys status`, then retire the old key."
  ),
  Command.withShortDescription("Re-encrypt every connection string under the primary key.")
)
