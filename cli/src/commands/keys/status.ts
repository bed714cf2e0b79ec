/** `keys status`: the configured key ring and how many connection strings each key encrypts. */
import { Effect } from "effect"
import { Command } from "effect/cli"
import { loadKeyRing } from "../../library.ts"
import { DatabaseServers, TenantDatabases } from "../../library.ts"
import { jsonFlag, printJson, printTable } from "../../output.ts"
import { type KeyStatus, KeyStatusView } from "../../views.ts"

type KeyRow = KeyStatus

export const commandKeysStatus = Command.make("status", { json: jsonFlag }, ({ json }) =>
  Effect.gen(function*() {
    const ring = yield* loadKeyRing
    const usage = yield* (yield* TenantDatabases).keyUsage()
    const serverUsage = yield* (yield* DatabaseServers).keyUsage()
    const counts = new Map(usage.map((u) => [u.keyId, u.databases]))
    const serverCounts = new Map(serverUsage.map((u) => [u.keyId, u.servers]))
    const rows: Array<KeyRow> = ring.keys.map((key) => ({
      keyId: key.id,
      primary: key.id === ring.primary.id,
      inRing: true,
      databases: counts.get(key.id) ?? 0,
      servers: serverCounts.get(key.id) ?? 0
    }))
    // Rows under a key the ring does not hold cannot be read: show them too.
    const missing = new Set([...counts.keys(), ...serverCounts.keys()].filter((keyId) => ring.get(keyId) === undefined))
    for (const keyId of [...missing].sort()) {
      rows.push({ keyId, primary: false, inRing: false, databases: counts.get(keyId) ?? 0, servers: serverCounts.get(keyId) ?? 0 })
    }
    if (json) return yield* printJson(KeyStatusView, { primaryKeyId: ring.primary.id, keys: rows })
    yield* printTable(
      [
        { header: "KEY", value: (r: KeyRow) => r.keyId },
        { header: "ROLE", value: (r: KeyRow) => (r.primary ? "primary" : r.inRing ? "decrypt only" : "NOT IN RING") },
        { header: "DATABASES", value: (r: KeyRow) => String(r.databases) },
        { header: "SERVERS", value: (r: KeyRow) => String(r.servers) }
      ],
      rows,
      "No keys."
    )
  })
).pipe(
  Command.withDescription(
    "Show the keys of CONTROL_PLANE_ENCRYPTION_KEYS (which one is primary) and how many stored connection strings each encrypts: tenant databases' and database servers' admin ones. A key may be retired once it encrypts none; rows under a key missing from the ring are listed as NOT IN RING."
  ),
  Command.withShortDescription("Show the key ring and what each key encrypts.")
)
