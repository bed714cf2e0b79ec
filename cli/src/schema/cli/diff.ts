/**
 * `npm run db:diff -- <name>`: writes the migration from schema.hcl (and the
 * routines migration when routines.hcl changed), safe by default, and
 * re-hashes atlas.sum. Needs no DATABASE_URL: Atlas plans on a scratch
 * database of the local server (CONTROL_PLANE_ADMIN_URL). Exit 0 on success
 * (also when there is nothing to write), 1 on failure, 2 on a usage error.
 */
import { generateMigration, InvalidMigrationName } from "../diff.ts"
import { adminUrlFromEnvironment, InvalidAdminUrl } from "../gate/server.ts"
import { runScript, UsageError } from "./common.ts"

const usage = "usage: npm run db:diff -- <name>   (e.g. npm run db:diff -- add_region_to_tenant_databases)"

runScript(async () => {
  const args = process.argv.slice(2)
  if (args.length !== 1 || args[0]!.startsWith("-")) throw new UsageError(usage)
  const result = await (async () => {
    try {
      return await generateMigration({ name: args[0]!, adminUrl: adminUrlFromEnvironment() })
    } catch (error) {
      if (error instanceof InvalidMigrationName || error instanceof InvalidAdminUrl) throw new UsageError(error.message)
      throw error
    }
  })()
  if (result.written.length === 0) {
    console.log("no changes: migrations/ already matches schema.hcl and routines.hcl")
    return
  }
  for (const file of result.written) console.log(`wrote migrations/${file}`)
  if (result.routines !== undefined) console.log(`routines: ${result.routines}`)
  console.log("atlas.sum re-hashed. Next: review the SQL, then `npm run db:lint`, then commit.")
})
