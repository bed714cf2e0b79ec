/**
 * `npm run cli -- <command>`: the CLI against the quick start's control plane.
 * With DATABASE_URL set it is plain `control-plane`; without it, it uses the
 * quick start's embedded PostgreSQL, starting it when it is not running (it
 * keeps running for the next commands, until `npm run stop`). The key ring
 * file of .data/ is used when CONTROL_PLANE_ENCRYPTION_KEYS is not set.
 */
import { Effect } from "effect"
import { quickStartFiles } from "./files.ts"
import { localControlPlane, runCli } from "./local.ts"
import { QuickStartFailed, runQuickStartMain } from "./runMain.ts"

const args = process.argv.slice(2)

/** Help and --version need no database. */
const needsNoDatabase = args.length === 0 || args.some((arg) => ["--help", "-h", "--version", "-v"].includes(arg))

const program = Effect.gen(function*() {
  if (needsNoDatabase) return yield* runCli(args)
  const local = yield* localControlPlane(quickStartFiles(), { create: false })
  if (local === undefined) {
    return yield* new QuickStartFailed({
      message: "DATABASE_URL is not set and there is no quick-start database yet: run `npm start` first, or set DATABASE_URL",
      exitCode: 2
    })
  }
  return yield* runCli(args, local)
})

runQuickStartMain(program)
