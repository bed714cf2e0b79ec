/**
 * `npm run cli -- <command>`: the CLI against the quick start's control plane.
 * With DATABASE_URL set it is plain `control-plane`; without it, the embedded
 * PostgreSQL that `npm start` created is started for this one command and
 * stopped afterwards. The key ring file of .data/ is used when
 * CONTROL_PLANE_ENCRYPTION_KEYS is not set.
 */
import { Effect } from "effect"
import { quickStartFiles } from "./files.ts"
import { localControlPlane } from "./local.ts"
import { QuickStartFailed, runCli, runQuickStartMain } from "./runMain.ts"

const args = process.argv.slice(2)

/** Help and --version need no database. */
const needsNoDatabase = args.length === 0 || args.some((arg) => ["--help", "-h", "--version", "-v"].includes(arg))

const program = Effect.gen(function*() {
  if (!needsNoDatabase) {
    const local = yield* localControlPlane(quickStartFiles(), { createIfMissing: false })
    if (local === undefined) {
      return yield* new QuickStartFailed({
        message: "DATABASE_URL is not set and there is no quick-start database yet: run `npm start` first, or set DATABASE_URL",
        exitCode: 2
      })
    }
  }
  return yield* Effect.promise((signal) => runCli(args, signal))
}).pipe(Effect.scoped)

runQuickStartMain(program)
