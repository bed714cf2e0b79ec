/**
 * A TCP proxy (node:net) in front of the shared PostgreSQL, which the fault
 * tests can make refuse new connections and cut open ones, and then accept
 * again on the same port: the server "going away" without stopping or
 * reconfiguring the real one, which other test files share.
 */
import net from "node:net"

export class TcpProxy {
  private readonly sockets = new Set<net.Socket>()
  private server: net.Server | undefined
  private readonly target: { readonly host: string; readonly port: number }
  /** The proxy's port (0 until it first listens). */
  port = 0

  private constructor(target: { readonly host: string; readonly port: number }) {
    this.target = target
  }

  /** A proxy on a free local port, forwarding to `target`. */
  static async start(target: { readonly host: string; readonly port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target)
    await proxy.accept()
    return proxy
  }

  /** `url` with its host and port replaced by the proxy's. */
  urlFor(url: string): string {
    const parsed = new URL(url)
    parsed.hostname = "127.0.0.1"
    parsed.port = String(this.port)
    return parsed.toString()
  }

  /** Listens (again, on the same port after the first time): new connections go through. */
  async accept(): Promise<void> {
    const server = net.createServer((client) => this.forward(client))
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(this.port, "127.0.0.1", () => resolve())
    })
    this.port = (server.address() as net.AddressInfo).port
    this.server = server
  }

  /** Cuts every open connection (the server sees its clients vanish; the clients see a reset). */
  drop(): void {
    for (const socket of this.sockets) socket.destroy()
    this.sockets.clear()
  }

  /** Stops listening and cuts every open connection: new connections are refused (ECONNREFUSED). */
  async refuse(): Promise<void> {
    const server = this.server
    this.server = undefined
    this.drop()
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  close(): Promise<void> {
    return this.refuse()
  }

  private forward(client: net.Socket): void {
    const upstream = net.connect(this.target.port, this.target.host)
    for (const socket of [client, upstream]) {
      this.sockets.add(socket)
      socket.on("error", () => {
        client.destroy()
        upstream.destroy()
      })
      socket.on("close", () => {
        this.sockets.delete(socket)
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  }
}
