/**
 * The quick start's folder (`.data/` at the repository root, git-ignored, or
 * CONTROL_PLANE_DATA_DIR): the embedded PostgreSQL cluster, its generated
 * password and a generated encryption key ring. The two secrets are files of
 * mode 0600 that a second run reads back instead of generating new ones, so
 * the data stays readable across runs.
 */
import { randomBytes } from "node:crypto"
import { chmod, link, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises"
import path from "node:path"
import { ENCRYPTION_KEYS_VAR, PRIMARY_KEY_ID_VAR } from "../library.ts"
import { projectFile } from "../schema/paths.ts"

export interface QuickStartFiles {
  /** The folder holding everything below. */
  readonly root: string
  /** The PostgreSQL cluster (initdb's data directory). */
  readonly cluster: string
  /** The generated superuser password. */
  readonly password: string
  /** The generated key ring, as `NAME=value` lines. */
  readonly keyRing: string
  /** What the embedded server writes about itself. */
  readonly serverLog: string
}

export const dataDirVar = "CONTROL_PLANE_DATA_DIR"

/** The files under `root` (default: CONTROL_PLANE_DATA_DIR, else .data/ in the repository). */
export const quickStartFiles = (root: string = defaultDataDir()): QuickStartFiles => ({
  root,
  cluster: path.join(root, "postgres"),
  password: path.join(root, "postgres-password"),
  keyRing: path.join(root, "encryption-keys"),
  serverLog: path.join(root, "postgres.log")
})

export const defaultDataDir = (): string => {
  const fromEnv = process.env[dataDirVar]
  return fromEnv !== undefined && fromEnv !== "" ? path.resolve(fromEnv) : projectFile(".data")
}

const runningAsRoot = (): boolean => process.getuid?.() === 0

/**
 * Creates the folder: 0700 normally; as root 0755, because PostgreSQL then
 * runs as the `postgres` user, which must reach the cluster below it (the
 * secrets keep their own 0600).
 */
export const ensureRoot = async (files: QuickStartFiles): Promise<void> => {
  await mkdir(files.root, { recursive: true, mode: runningAsRoot() ? 0o755 : 0o700 })
  if (runningAsRoot()) await chmod(files.root, 0o755)
}

/**
 * As root, the first folder above the cluster that the `postgres` user
 * cannot enter (no execute bit for others), if any: initdb would fail there
 * with a message about permissions deep in its log.
 */
export const unreachableByPostgres = async (files: QuickStartFiles): Promise<string | undefined> => {
  if (!runningAsRoot()) return undefined
  for (let dir = path.dirname(files.cluster); ; dir = path.dirname(dir)) {
    const info = await stat(dir).catch(() => undefined)
    if (info !== undefined && (info.mode & 0o001) === 0) return dir
    if (path.dirname(dir) === dir) return undefined
  }
}

export const exists = async (file: string): Promise<boolean> =>
  stat(file).then(() => true, (error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return false
    throw error
  })

/** Whether a cluster was initialised in the folder before. */
export const clusterExists = (files: QuickStartFiles): Promise<boolean> => exists(path.join(files.cluster, "PG_VERSION"))

/**
 * Reads a secret file, or creates it with `generate()` (mode 0600). Creation
 * is atomic: the secret is written whole to a temporary file in the same
 * folder, then hard-linked into place, so a concurrent reader never sees the
 * file empty or half written. `link` never replaces an existing file: when two
 * runs race, one secret wins and the other run reads it back. Returns the
 * content and whether it was created now.
 */
export const readOrCreateSecret = async (
  file: string,
  generate: () => string
): Promise<{ readonly content: string; readonly created: boolean }> => {
  const content = generate()
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`)
  await writeFile(temporary, content, { mode: 0o600, flag: "wx" })
  try {
    await link(temporary, file)
    return { content, created: true }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    // Someone may have loosened the mode by hand: a secret stays 0600.
    await chmod(file, 0o600)
    return { content: await readFile(file, "utf8"), created: false }
  } finally {
    await rm(temporary, { force: true })
  }
}

/** A password of 32 URL-safe characters (no escaping needed in a URL). */
export const generatePassword = (): string => `${randomBytes(24).toString("base64url")}\n`

/** The id of the quick start's first key. */
export const quickStartKeyId = "quickstart-1"

/** A fresh ring of one 32-byte key, in the format `parseKeyRingFile` reads. */
export const generateKeyRing = (): string =>
  [
    "# The quick start's encryption key ring: keep this file secret (mode 0600).",
    "# Losing it makes every stored connection string unreadable.",
    "# To rotate: add a key (`openssl rand -base64 32`) to the list, make it primary,",
    "# then run `npm run cli -- keys rotate`; drop the old key only after that.",
    `${ENCRYPTION_KEYS_VAR}=${quickStartKeyId}:${randomBytes(32).toString("base64")}`,
    `${PRIMARY_KEY_ID_VAR}=${quickStartKeyId}`,
    ""
  ].join("\n")

/** The `NAME=value` lines of a key ring file (comments and blank lines skipped). */
export const parseKeyRingFile = (content: string): Record<string, string> => {
  const settings: Record<string, string> = {}
  for (const line of content.split("\n")) {
    const trimmed = line.trim()
    if (trimmed === "" || trimmed.startsWith("#")) continue
    const separator = trimmed.indexOf("=")
    if (separator === -1) continue
    settings[trimmed.slice(0, separator).trim()] = trimmed.slice(separator + 1).trim()
  }
  return settings
}
