/**
 * `npm run db:drift`: compares the database at DATABASE_URL with schema.hcl and
 * routines.hcl and prints the difference. Exit 0 when they match, 1 on drift
 * (or failure), 2 on a usage error. Never prints DATABASE_URL.
 */
import { detectDrift, formatDriftReport, hasDrift } from "../drift.ts"
import { requireDatabaseUrl, runScript } from "./common.ts"

class DriftFound extends Error {}

/** Removes the URL and its password from a message, whatever printed them. */
const redact = (message: string, url: string): string => {
  const password = decodeURIComponent(new URL(url).password)
  let clean = message.replaceAll(url, "<DATABASE_URL>")
  if (password !== "") clean = clean.replaceAll(password, "<password>")
  return clean
}

runScript(async () => {
  const url = requireDatabaseUrl()
  try {
    const report = await detectDrift(url)
    console.log(formatDriftReport(report))
    if (hasDrift(report)) throw new DriftFound(`database "${report.database}" has drifted from the desired state`)
  } catch (error) {
    if (error instanceof DriftFound || !(error instanceof Error)) throw error
    error.message = redact(error.message, url)
    throw error
  }
})
