/**
 * The slice of node-postgres (`pg`, the driver under @databases/pg) that the
 * project uses directly: the invalidation listener of TenantConnections
 * (@databases/pg has no LISTEN) and the schema tools' short-lived
 * connections (cli/src/schema/postgres.ts). @types/pg is not a dependency, so
 * only what is used is declared (as kysely does).
 */
declare module "pg" {
  export interface PgClient {
    connect(): Promise<void>
    query(text: string, values?: ReadonlyArray<unknown>): Promise<{ readonly rows: Array<Record<string, unknown>> }>
    end(): Promise<void>
    /** The socket, undocumented; @databases/pg destroys it the same way to dispose a connection. */
    readonly connection?: { readonly stream?: { destroy(): void } }
    on(event: "notification", listener: (message: { readonly channel: string; readonly payload?: string }) => void): void
    on(event: "error", listener: (error: Error) => void): void
    on(event: "end", listener: () => void): void
  }

  export interface PgClientConfig {
    readonly connectionString: string
    readonly connectionTimeoutMillis: number
    readonly application_name?: string
    readonly keepAlive?: boolean
  }

  const pg: {
    readonly Client: new (config: PgClientConfig) => PgClient
  }
  export default pg
}
