/** `npm run db:migrate`: applies the pending files of migrations/ to DATABASE_URL (versioned path). */
import { applyMigrations } from "../apply.ts"
import { requireDatabaseUrl, runScript } from "./common.ts"

runScript(async () => {
  console.log(await applyMigrations(requireDatabaseUrl()))
})
