/**
 * The control plane the quick start, `npm run cli` and `npm run env` talk
 * to: the server of DATABASE_URL when it is set, otherwise the quick start's
 * embedded PostgreSQL (started when it is not running, and left running). The
 * key ring comes from CONTROL_PLANE_ENCRYPTION_KEYS when it is set, otherwise
 * from the folder's key ring file, which `keys add` and `keys rotate` then
 * keep up to date.
 *
 * The result is a set of settings, handed to the CLI as its configuration
 * (never written into process.env).
 */
import { readFile } from "node:fs/promises"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { KeyRingFile, parseKeyRingFile } from "../keyRingFile.ts"
import { ENCRYPTION_KEYS_VAR, PRIMARY_KEY_ID_VAR } from "../library.ts"
import { cli } from "../run.ts"
import { ensureRoot, generateKeyRing, type QuickStartFiles, readOrCreateSecret } from "./files.ts"
import { type EmbeddedPostgresError, type EmbeddedServer, ensureServer } from "./server.ts"

export type DatabaseSource =
  | { readonly _tag: "Environment"; readonly host: string; readonly database: string }
  | ({ readonly _tag: "Embedded" } & Omit<EmbeddedServer, "url" | "adminUrl">)

export type KeyRingSource =
  | { readonly _tag: "Environment" }
  | { readonly _tag: "File"; readonly path: string; readonly created: boolean }
  | { readonly _tag: "None" }

export interface LocalControlPlane {
  /** The environment the CLI and the schema tools run with: the process's, plus the database and the key ring. */
  readonly settings: Readonly<Record<string, string>>
  readonly url: Redacted.Redacted<string>
  /** The embedded server's superuser, where scratch databases go; undefined for DATABASE_URL's server. */
  readonly adminUrl: Redacted.Redacted<string> | undefined
  readonly database: DatabaseSource
  readonly keyRing: KeyRingSource
}

const isSet = (env: NodeJS.ProcessEnv, name: string): boolean => (env[name] ?? "").trim() !== ""

/** The variables of the process's environment that are set. */
const processEnvironment = (): Record<string, string> =>
  Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined))

/**
 * The key ring settings: the environment's when set; else the folder's file
 * (generated when missing and `create`; without it a missing file leaves the
 * settings unset, and the commands that need keys say so).
 */
const keyRingSettings = (files: QuickStartFiles, create: boolean) =>
  Effect.promise(async (): Promise<{ readonly source: KeyRingSource; readonly settings: Record<string, string> }> => {
    if (isSet(process.env, ENCRYPTION_KEYS_VAR)) return { source: { _tag: "Environment" }, settings: {} }
    let content: string | undefined
    let created = false
    if (create) {
      await ensureRoot(files)
      ;({ content, created } = await readOrCreateSecret(files.keyRing, generateKeyRing))
    } else {
      content = await readFile(files.keyRing, "utf8").catch(() => undefined)
    }
    if (content === undefined) return { source: { _tag: "None" }, settings: {} }
    const fromFile = parseKeyRingFile(content)
    const settings: Record<string, string> = {}
    for (const name of [ENCRYPTION_KEYS_VAR, PRIMARY_KEY_ID_VAR]) {
      if (fromFile[name] !== undefined && !isSet(process.env, name)) settings[name] = fromFile[name]
    }
    return { source: { _tag: "File", path: files.keyRing, created }, settings }
  })

const describeUrl = (url: string): { readonly host: string; readonly database: string } => {
  try {
    const parsed = new URL(url)
    return { host: parsed.host, database: decodeURIComponent(parsed.pathname.slice(1)) }
  } catch {
    return { host: "?", database: "?" }
  }
}

/**
 * Resolves (and, for the embedded server, starts when needed) the control
 * plane. `create`: initialise a new cluster and key ring when the folder has
 * none (`npm start`); without it a missing cluster gives `undefined`.
 */
export const localControlPlane = (
  files: QuickStartFiles,
  options: { readonly create: boolean }
): Effect.Effect<LocalControlPlane | undefined, EmbeddedPostgresError> =>
  Effect.gen(function*() {
    const environment = processEnvironment()
    const fromEnv = environment["DATABASE_URL"]
    if (fromEnv !== undefined && fromEnv.trim() !== "") {
      const keyRing = yield* keyRingSettings(files, options.create)
      return {
        settings: { ...environment, ...keyRing.settings },
        url: Redacted.make(fromEnv),
        adminUrl: undefined,
        database: { _tag: "Environment", ...describeUrl(fromEnv) },
        keyRing: keyRing.source
      } satisfies LocalControlPlane
    }
    const server = yield* ensureServer(files, options)
    if (server === undefined) return undefined
    const keyRing = yield* keyRingSettings(files, options.create)
    const { url, adminUrl, ...embedded } = server
    return {
      settings: { ...environment, ...keyRing.settings, DATABASE_URL: Redacted.value(url) },
      url,
      adminUrl,
      database: { _tag: "Embedded", ...embedded },
      keyRing: keyRing.source
    } satisfies LocalControlPlane
  })

/** Runs the CLI in-process on Node's services with `settings` as its configuration (and the key ring file, if any). */
export const runCli = (
  args: ReadonlyArray<string>,
  local?: Pick<LocalControlPlane, "settings" | "keyRing">
): Effect.Effect<number> =>
  cli(args).pipe(
    Effect.provideService(KeyRingFile, local?.keyRing._tag === "File" ? local.keyRing.path : undefined),
    Effect.provide(
      Layer.mergeAll(
        NodeServices.layer,
        ConfigProvider.layer(ConfigProvider.fromEnv({ env: local?.settings ?? processEnvironment() }))
      )
    )
  )
