/**
 * A TCP proxy in front of the local PostgreSQL that can misbehave the way a
 * network or a pooler does, which a database cannot be made to do on demand:
 *
 *   "pass"               forwards everything
 *   "dropNotifications"  forwards everything but NotificationResponse messages
 *                        (what a listener behind PgBouncer in transaction mode sees)
 *   "blackhole"          forwards nothing and closes nothing, not even a side's
 *                        goodbye (FIN): a dead network
 *
 * It reads the server's messages as the protocol frames them (a type byte and
 * a four-byte length); clients must not ask for TLS through it. It stands in
 * front of the server of the connection string it is given (the matrix runs
 * servers on other ports than 5432), and `url` is that string through it.
 */
import net from "node:net"

export type ProxyMode = "pass" | "dropNotifications" | "blackhole"

export interface FaultyProxy {
  readonly port: number
  /** The target connection string, pointed at the proxy. */
  readonly url: string
  mode: ProxyMode
  readonly close: () => Promise<void>
}

export const startFaultyProxy = async (targetUrl: string): Promise<FaultyProxy> => {
  const parsed = new URL(targetUrl)
  const target = { host: parsed.hostname, port: Number(parsed.port || 5432) }
  const sockets = new Set<net.Socket>()
  const proxy: { mode: ProxyMode } = { mode: "pass" }
  // Half-open sockets: a side's FIN is forwarded as its data is, so "blackhole" can swallow it.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ ...target, allowHalfOpen: true })
    sockets.add(client).add(upstream)
    let pending = Buffer.alloc(0)
    client.on("data", (chunk) => {
      if (proxy.mode !== "blackhole") upstream.write(chunk)
    })
    upstream.on("data", (chunk) => {
      if (proxy.mode === "blackhole") return
      pending = Buffer.concat([pending, chunk])
      // Forward whole messages only, dropping notifications when asked to.
      while (pending.length >= 5) {
        const length = 1 + pending.readUInt32BE(1)
        if (pending.length < length) break
        const message = pending.subarray(0, length)
        pending = pending.subarray(length)
        if (!(proxy.mode === "dropNotifications" && message[0] === 0x41)) client.write(message)
      }
    })
    client.on("end", () => {
      if (proxy.mode !== "blackhole") upstream.end()
    })
    upstream.on("end", () => {
      if (proxy.mode !== "blackhole") client.end()
    })
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on("close", end).on("error", end)
    upstream.on("close", end).on("error", end)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as net.AddressInfo).port
  const url = new URL(targetUrl)
  url.hostname = "127.0.0.1"
  url.port = String(port)
  return Object.assign(proxy, {
    port,
    url: url.toString(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  })
}
