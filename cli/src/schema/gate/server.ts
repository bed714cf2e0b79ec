/**
 * The PostgreSQL server on which the gate and `db:diff` create their scratch
 * databases (Atlas's dev database, the lock probe). They never touch a
 * database of yours, so they need no DATABASE_URL:
 *
 *   CONTROL_PLANE_ADMIN_URL  a superuser: it creates databases, and the lock
 *                            probe creates event triggers in one
 *                            (default postgres://postgres@127.0.0.1:5432/postgres,
 *                            the local server of a laptop or CI machine)
 */
export const defaultAdminUrl = "postgres://postgres@127.0.0.1:5432/postgres"

/** Thrown when CONTROL_PLANE_ADMIN_URL is set but is not a postgres:// URL. */
export class InvalidAdminUrl extends Error {}

export const adminUrlFromEnvironment = (): string => {
  const url = process.env["CONTROL_PLANE_ADMIN_URL"]
  if (url === undefined || url === "") return defaultAdminUrl
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new InvalidAdminUrl("CONTROL_PLANE_ADMIN_URL is not a valid postgres:// URL")
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new InvalidAdminUrl("CONTROL_PLANE_ADMIN_URL must be a postgres:// URL")
  }
  return url
}
