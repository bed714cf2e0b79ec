/**
 * The net below every error line the scripts and the CLI print: errors are
 * built not to carry secrets, but a tool's own message (Atlas quotes a URL it
 * cannot parse, password included) may. One masker serves both, so both mask
 * the same things.
 */

const connectionString = /\bpostgres(?:ql)?:\/\/[^\s'"`]*/gi
const passwordPair = /\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|[^\s'"`]+)/gi
const urlPassword = /^[a-z][a-z0-9+.-]*:\/\/[^:@/?#]*:([^@/?#]+)@/i

/** The password of a URL-ish setting as written and, when it decodes, as decoded. */
const passwordsOf = (url: string | undefined): ReadonlyArray<string> => {
  const raw = urlPassword.exec(url ?? "")?.[1]
  if (raw === undefined) return []
  try {
    return [raw, decodeURIComponent(raw)]
  } catch {
    return [raw]
  }
}

/** The key material of CONTROL_PLANE_ENCRYPTION_KEYS ("id:base64,..."), without the ids. */
const keyMaterialOf = (keys: string | undefined): ReadonlyArray<string> =>
  (keys ?? "").split(",").map((entry) => entry.slice(entry.indexOf(":") + 1).trim())

/**
 * Masks, in a line about to be printed: connection strings, `password=` pairs,
 * the whole DATABASE_URL and the key material of the configured key ring (8
 * characters or more), and the passwords of the URLs the project reads
 * (DATABASE_URL, ATLAS_DEV_URL, CONTROL_PLANE_ADMIN_URL; 4 or more).
 */
export const redactSecrets = (line: string, env: NodeJS.ProcessEnv = process.env): string => {
  let masked = line.replace(connectionString, "<redacted>").replace(passwordPair, "password=<redacted>")
  for (const secret of [env["DATABASE_URL"], ...keyMaterialOf(env["CONTROL_PLANE_ENCRYPTION_KEYS"])]) {
    if (secret !== undefined && secret.length >= 8) masked = masked.replaceAll(secret, "<redacted>")
  }
  const passwords = ["DATABASE_URL", "ATLAS_DEV_URL", "CONTROL_PLANE_ADMIN_URL"].flatMap((name) => passwordsOf(env[name]))
  for (const secret of passwords) if (secret.length >= 4) masked = masked.replaceAll(secret, "<redacted>")
  return masked
}
