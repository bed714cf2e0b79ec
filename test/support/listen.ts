/**
 * LISTEN on a connection of its own, for tests that check what the database
 * notifies: node-postgres directly (the driver under @databases/pg), as psql
 * would see it.
 */
import { createRequire } from "node:module"

interface Notification {
  readonly channel: string
  readonly payload?: string
}

interface ListeningClient {
  connect(): Promise<void>
  query(text: string): Promise<unknown>
  end(): Promise<void>
  on(event: "notification", listener: (message: Notification) => void): void
}

const { Client } = createRequire(import.meta.url)("pg") as {
  Client: new (config: { connectionString: string }) => ListeningClient
}

export interface Listener {
  /** Payloads received so far, in order. */
  readonly payloads: Array<string>
  /** Resolves once `count` payloads have arrived (or rejects after `timeoutMs`). */
  readonly waitFor: (count: number, timeoutMs?: number) => Promise<ReadonlyArray<string>>
  readonly close: () => Promise<void>
}

export const listen = async (url: string, channel: string): Promise<Listener> => {
  const client = new Client({ connectionString: url })
  await client.connect()
  const payloads: Array<string> = []
  const waiting = new Set<() => void>()
  client.on("notification", (message) => {
    if (message.channel !== channel) return
    payloads.push(message.payload ?? "")
    for (const wake of waiting) wake()
  })
  await client.query(`LISTEN "${channel.replaceAll('"', '""')}"`)
  const waitFor = (count: number, timeoutMs = 5_000) =>
    new Promise<ReadonlyArray<string>>((resolve, reject) => {
      const check = () => {
        if (payloads.length < count) return
        waiting.delete(check)
        clearTimeout(timer)
        resolve(payloads.slice())
      }
      const timer = setTimeout(() => {
        waiting.delete(check)
        reject(new Error(`expected ${count} notifications on ${channel}, got ${payloads.length}`))
      }, timeoutMs)
      waiting.add(check)
      check()
    })
  return { payloads, waitFor, close: () => client.end() }
}
