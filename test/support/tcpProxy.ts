/**
 * An in-process TCP proxy in front of the local PostgreSQL, for tests that
 * need a server that refuses: `refuse()` cuts every open connection and
 * resets every new one until `accept()`. The machine's shared PostgreSQL is
 * never stopped or reconfigured.
 */
import net from "node:net"

export interface TcpProxy {
  /** The port clients connect to (on 127.0.0.1). */
  readonly port: number
  /** Cuts every open connection; new ones are reset at once. */
  readonly refuse: () => void
  /** Forwards new connections again. */
  readonly accept: () => void
  readonly close: () => Promise<void>
}

export const startTcpProxy = (target: { readonly host: string; readonly port: number }): Promise<TcpProxy> =>
  new Promise((resolve, reject) => {
    let refusing = false
    const open = new Set<net.Socket>()
    const server = net.createServer((client) => {
      if (refusing) {
        client.resetAndDestroy()
        return
      }
      const upstream = net.connect(target.port, target.host)
      open.add(client)
      open.add(upstream)
      const end = () => {
        open.delete(client)
        open.delete(upstream)
        client.destroy()
        upstream.destroy()
      }
      client.on("error", end).on("close", end)
      upstream.on("error", end).on("close", end)
      client.pipe(upstream)
      upstream.pipe(client)
    })
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      if (address === null || typeof address === "string") return reject(new Error("the proxy has no port"))
      resolve({
        port: address.port,
        refuse: () => {
          refusing = true
          for (const socket of open) socket.resetAndDestroy()
          open.clear()
        },
        accept: () => {
          refusing = false
        },
        close: () =>
          new Promise<void>((done) => {
            for (const socket of open) socket.destroy()
            server.close(() => done())
          })
      })
    })
  })
