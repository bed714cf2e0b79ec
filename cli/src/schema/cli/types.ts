/**
 * `npm run db:types`: regenerates src/db/generated/ from the migrations.
 * Builds (and drops) a scratch database on the server of DATABASE_URL, which
 * must be a role allowed to CREATE DATABASE; the database it names is not
 * touched.
 */
import { requireDatabaseUrl, runScript } from "./common.ts"
import { generatedDirectory, generateRowTypes } from "../generateTypes.ts"

runScript(async () => {
  const files = await generateRowTypes(requireDatabaseUrl(), generatedDirectory)
  console.log(`Wrote ${files.length} files to src/db/generated/: ${files.join(", ")}`)
})
