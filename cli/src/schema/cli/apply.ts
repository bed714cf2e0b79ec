/** `npm run db:apply`: brings DATABASE_URL to the desired state (declarative path). */
import { applyDesiredState } from "../apply.ts"
import { requireDatabaseUrl, runScript } from "./common.ts"

runScript(async () => {
  const report = await applyDesiredState(requireDatabaseUrl())
  console.log(report.plan)
  console.log(`routines: ${report.routines.join(", ")}`)
  console.log(`seeds: ${report.seeds.join(", ")}`)
})
