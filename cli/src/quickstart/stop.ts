/** `npm run stop`: stops the quick start's embedded PostgreSQL (its data stays in the folder). */
import { Console, Effect } from "effect"
import { displayPath } from "../paths.ts"
import { quickStartFiles } from "./files.ts"
import { runQuickStartMain } from "./runMain.ts"
import { stopServer } from "./server.ts"

const files = quickStartFiles()

runQuickStartMain(
  Effect.flatMap(stopServer(files), (stopped) =>
    Console.log(
      stopped
        ? `Stopped the quick start's PostgreSQL (data kept in ${displayPath(files.root)}/).`
        : "The quick start's PostgreSQL is not running."
    ))
)
