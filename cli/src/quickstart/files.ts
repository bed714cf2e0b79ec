/**
 * The quick start's folder (`.data/` at the repository root, git-ignored, or
 * CONTROL_PLANE_DATA_DIR): the embedded PostgreSQL cluster (see server.ts for
 * where it goes when the folder is out of the `postgres` user's reach), its
 * generated password and a generated encryption key ring. The two secrets are
 * files of mode 0600 that later runs read back instead of generating new
 * ones, so the data stays readable across runs.
 */
import { randomBytes } from "node:crypto"
import { chmod, link, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises"
import path from "node:path"
import { formatKeyRingFile, newKeyMaterial } from "../keyRingFile.ts"
import { projectFile } from "../schema/paths.ts"

export interface QuickStartFiles {
  /** The folder holding everything below. */
  readonly root: string
  /** The PostgreSQL cluster (initdb's data directory), unless server.ts moves it. */
  readonly cluster: string
  /** The generated superuser password. */
  readonly password: string
  /** The generated key ring, as `NAME=value` lines (keyRingFile.ts). */
  readonly keyRing: string
  /** Taken while the server is started or stopped, so concurrent commands share one server. */
  readonly serverLock: string
  /** The port the server last listened on, tried first next time (exported settings stay valid). */
  readonly port: string
}

export const dataDirVar = "CONTROL_PLANE_DATA_DIR"

/** The files under `root` (default: CONTROL_PLANE_DATA_DIR, else .data/ in the repository). */
export const quickStartFiles = (root: string = defaultDataDir()): QuickStartFiles => ({
  root,
  cluster: path.join(root, "postgres"),
  password: path.join(root, "postgres-password"),
  keyRing: path.join(root, "encryption-keys"),
  serverLock: path.join(root, "server.lock"),
  port: path.join(root, "port")
})

export const defaultDataDir = (): string => {
  const fromEnv = process.env[dataDirVar]
  return fromEnv !== undefined && fromEnv !== "" ? path.resolve(fromEnv) : projectFile(".data")
}

export const runningAsRoot = (): boolean => process.getuid?.() === 0

/**
 * Creates the folder: 0700 normally; as root 0755, because PostgreSQL then
 * runs as the `postgres` user, which must reach the cluster below it (the
 * secrets keep their own 0600).
 */
export const ensureRoot = async (files: QuickStartFiles): Promise<void> => {
  await mkdir(files.root, { recursive: true, mode: runningAsRoot() ? 0o755 : 0o700 })
  if (runningAsRoot()) await chmod(files.root, 0o755)
}

export const exists = async (file: string): Promise<boolean> =>
  stat(file).then(() => true, (error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return false
    throw error
  })

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

/** A fresh ring of one 32-byte key, in the format keyRingFile.ts reads. */
export const generateKeyRing = (): string =>
  formatKeyRingFile([{ id: quickStartKeyId, material: newKeyMaterial() }], quickStartKeyId)
