/**
 * `keys rotate`: re-encrypts every stored connection string that is not yet
 * under the primary key, in batches, each committed on its own (so an
 * interrupted run resumes where it stopped). A progress bar on a terminal, a
 * plain summary line otherwise. On a key ring file (the quick start) it then
 * drops from the file the keys that no stored connection string uses.
 */
import { Console, Effect, Option, Stdio } from "effect"
import { Command, Flag } from "effect/cli"
import { loadKeyRing } from "../../library.ts"
import { DatabaseServers, TenantDatabases } from "../../library.ts"
import type { ReencryptProgress } from "../../library.ts"
import { KeyRingFile, updateKeyRingFile } from "../../keyRingFile.ts"
import { jsonFlag, printJson } from "../../output.ts"
import { displayPath } from "../../paths.ts"
import { stderrIsTerminal } from "../../terminal.ts"
import { RotationView } from "../../views.ts"
import { drawBar, endBar } from "./progressBar.ts"

/** The primary key id of the configured ring (already loaded once by the service, so it cannot fail differently). */
const primaryKey = Effect.map(loadKeyRing, (ring) => ring.primary.id as string)

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`

export const summary = (result: ReencryptProgress, primaryKeyId: string): string =>
  result.total === 0
    ? "No connection strings are stored: nothing to re-encrypt."
    : `Re-encrypted ${plural(result.reencrypted, "connection string", "connection strings")} under key ${primaryKeyId}; ` +
      `${result.alreadyCurrent} ${result.alreadyCurrent === 1 ? "was" : "were"} already under it (${result.total} in all).`

/**
 * Drops from the key ring file every key but the primary that encrypts no
 * stored connection string (of a tenant database or a database server), and
 * gives their ids. Usage is read under the
 * file's lock, so a key added meanwhile (the new primary) is never dropped.
 */
const pruneKeyRingFile = (file: string) =>
  Effect.gen(function*() {
    const databases = yield* TenantDatabases
    const servers = yield* DatabaseServers
    return yield* updateKeyRingFile(file, (ring) =>
      Effect.zipWith(databases.keyUsage(), servers.keyUsage(), (usage, serverUsage) => {
        const used = new Set([
          ...usage.filter((u) => u.databases > 0).map((u) => u.keyId),
          ...serverUsage.filter((u) => u.servers > 0).map((u) => u.keyId)
        ])
        const kept = ring.keys.filter((key) => key.id === ring.primary || used.has(key.id))
        const dropped = ring.keys.filter((key) => !kept.includes(key)).map((key) => key.id)
        return { keys: kept, primary: ring.primary, result: dropped }
      })
    )
  })

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
      const onTerminal = !json && (yield* stderrIsTerminal)
      // The progress callback runs inside the service: it gets our Stdio with it.
      const stdio = yield* Stdio.Stdio
      let drawn = false
      const result = yield* databases.reencryptAll({
        ...Option.match(batchSize, { onNone: () => ({}), onSome: (size) => ({ batchSize: size }) }),
        ...(onTerminal
          ? {
            onProgress: (progress: ReencryptProgress) => {
              drawn = true
              return drawBar(progress.alreadyCurrent + progress.reencrypted, progress.total).pipe(
                Effect.provideService(Stdio.Stdio, stdio)
              )
            }
          }
          : {})
      }).pipe(Effect.ensuring(Effect.suspend(() => (drawn ? endBar : Effect.void))))
      // The servers' admin connection strings are few: one transaction after the batches.
      const servers = yield* (yield* DatabaseServers).reencryptAll()
      const primaryKeyId = yield* primaryKey
      const file = yield* KeyRingFile
      const dropped = file === undefined ? [] : yield* pruneKeyRingFile(file)
      if (json) return yield* printJson(RotationView, { primaryKeyId, ...result, servers, droppedKeyIds: dropped })
      yield* Console.log(summary(result, primaryKeyId))
      if (servers > 0) {
        yield* Console.log(`Re-encrypted ${plural(servers, "database server admin connection string", "database server admin connection strings")} too.`)
      }
      if (file !== undefined && dropped.length > 0) {
        yield* Console.log(`Dropped ${dropped.join(", ")} from ${displayPath(file)}: no connection string is encrypted under ${dropped.length === 1 ? "it" : "them"} any more.`)
      }
    })
).pipe(
  Command.withDescription(
    "Re-encrypt every stored connection string under the primary key (CONTROL_PLANE_PRIMARY_KEY_ID), tenant databases' in batches, each committed on its own: safe to interrupt and run again, then the database servers' admin ones. Rotation: `keys add` (or add the new key to CONTROL_PLANE_ENCRYPTION_KEYS and make it primary), run this, check `keys status`, then retire the old key. On the quick start's key ring file, this drops the keys nothing is encrypted under any more."
  ),
  Command.withShortDescription("Re-encrypt every connection string under the primary key.")
)
