/**
 * The control plane the quick start and `npm run cli` talk to: the server of
 * DATABASE_URL when it is set, otherwise the embedded PostgreSQL of the quick
 * start's folder, started for the life of a scope. The key ring comes from
 * CONTROL_PLANE_ENCRYPTION_KEYS when it is set, otherwise from the folder's
 * generated key ring file.
 *
 * The settings are written into `process.env`, where the CLI (and the schema
 * tools it spawns) read them, exactly as if the operator had exported them.
 */
import { readFile } from "node:fs/promises"
import path from "node:path"
import { Effect, Redacted } from "effect"
import type { Scope } from "effect"
import { ENCRYPTION_KEYS_VAR, PRIMARY_KEY_ID_VAR } from "../library.ts"
import { embeddedPostgres, type EmbeddedPostgresError } from "./embedded.ts"
import {
  clusterExists,
  ensureRoot,
  generateKeyRing,
  parseKeyRingFile,
  type QuickStartFiles,
  readOrCreateSecret
} from "./files.ts"

export type DatabaseSource =
  | { readonly _tag: "Environment"; readonly host: string; readonly database: string }
  | { readonly _tag: "Embedded"; readonly created: boolean; readonly port: number; readonly version: string }

export type KeyRingSource =
  | { readonly _tag: "Environment" }
  | { readonly _tag: "File"; readonly created: boolean }
  | { readonly _tag: "None" }

export interface LocalControlPlane {
  readonly url: Redacted.Redacted<string>
  /** The embedded server's superuser, where scratch databases go; undefined for DATABASE_URL's server. */
  readonly adminUrl: Redacted.Redacted<string> | undefined
  readonly database: DatabaseSource
  readonly keyRing: KeyRingSource
}

const isSet = (name: string): boolean => (process.env[name] ?? "").trim() !== ""

/** A path as the user would type it from the current directory. */
export const displayPath = (file: string): string => {
  const relative = path.relative(process.cwd(), file)
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : file
}

/**
 * Fills the key ring settings from the folder's file. `create`: generate the
 * file when it is missing (the quick start); otherwise a missing file leaves
 * the settings unset, and commands that need keys say so.
 */
const useKeyRingFile = (files: QuickStartFiles, create: boolean): Effect.Effect<KeyRingSource> =>
  Effect.promise(async (): Promise<KeyRingSource> => {
    if (isSet(ENCRYPTION_KEYS_VAR)) return { _tag: "Environment" }
    let content: string
    let created = false
    if (create) {
      await ensureRoot(files)
      ;({ content, created } = await readOrCreateSecret(files.keyRing, generateKeyRing))
    } else {
      const existing = await readFile(files.keyRing, "utf8").catch(() => undefined)
      if (existing === undefined) return { _tag: "None" }
      content = existing
    }
    const settings = parseKeyRingFile(content)
    for (const name of [ENCRYPTION_KEYS_VAR, PRIMARY_KEY_ID_VAR]) {
      const value = settings[name]
      if (value !== undefined && !isSet(name)) process.env[name] = value
    }
    return { _tag: "File", created }
  })

const describeUrl = (url: string): { readonly host: string; readonly database: string } => {
  try {
    const parsed = new URL(url)
    return { host: parsed.host, database: decodeURIComponent(parsed.pathname.slice(1)) }
  } catch {
    return { host: "?", database: "?" }
  }
}

const postgresVersion = (files: QuickStartFiles): Promise<string> =>
  readFile(path.join(files.cluster, "PG_VERSION"), "utf8").then((v) => v.trim(), () => "")

/**
 * Resolves (and, for the embedded server, starts) the control plane and puts
 * its settings into `process.env`. `createIfMissing`: initialise a new
 * cluster and key ring when the folder has none (the quick start); without
 * it, a missing cluster is reported as `undefined` (`npm run cli` before the
 * first `npm start`).
 */
export const localControlPlane = (
  files: QuickStartFiles,
  options: { readonly createIfMissing: boolean }
): Effect.Effect<LocalControlPlane | undefined, EmbeddedPostgresError, Scope.Scope> =>
  Effect.gen(function*() {
    const fromEnv = process.env["DATABASE_URL"]
    if (fromEnv !== undefined && fromEnv.trim() !== "") {
      const keyRing = yield* useKeyRingFile(files, options.createIfMissing)
      return {
        url: Redacted.make(fromEnv),
        adminUrl: undefined,
        database: { _tag: "Environment", ...describeUrl(fromEnv) },
        keyRing
      } satisfies LocalControlPlane
    }
    if (!options.createIfMissing && !(yield* Effect.promise(() => clusterExists(files)))) return undefined
    const server = yield* embeddedPostgres(files)
    const keyRing = yield* useKeyRingFile(files, options.createIfMissing)
    process.env["DATABASE_URL"] = Redacted.value(server.url)
    return {
      url: server.url,
      adminUrl: server.adminUrl,
      database: {
        _tag: "Embedded",
        created: server.created,
        port: server.port,
        version: yield* Effect.promise(() => postgresVersion(files))
      },
      keyRing
    } satisfies LocalControlPlane
  })
