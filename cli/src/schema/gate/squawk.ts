/**
 * squawk on the files the gate checks, with the project's .squawk.toml, read
 * back as findings.
 *
 * The engine runs each file in one transaction unless the file says
 * `-- atlas:txmode none`; squawk is told the same (`assume_in_transaction` in
 * the config, `--no-assume-in-transaction` for txmode-none files), so that
 * its transaction-aware rules judge the file as the engine will run it.
 */
import { Effect, FileSystem } from "effect"
import path from "node:path"
import type { SchemaProjectShape } from "../Project.ts"
import { Squawk } from "../Squawk.ts"
import { finding, type Finding } from "./findings.ts"
import { runsOutsideTransaction } from "./markers.ts"
import { headline, statementAtLine, statementsOf } from "./statements.ts"

/** Runs squawk on the given files of `directory`. */
export const squawkLint = (project: SchemaProjectShape, directory: string, names: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const squawk = yield* Squawk
    const fs = yield* FileSystem.FileSystem
    const texts = new Map<string, string>()
    for (const name of names) texts.set(name, yield* fs.readFileString(path.join(directory, name)))
    const noTransaction = names.filter((name) => runsOutsideTransaction(texts.get(name)!))
    const inTransaction = names.filter((name) => !noTransaction.includes(name))
    const lint = (files: ReadonlyArray<string>, inTransaction: boolean) =>
      squawk.lint(files.map((name) => path.join(directory, name)), { config: project.squawkConfig, inTransaction })
    const [fromTransactional, fromOthers, statements] = yield* Effect.all(
      [lint(inTransaction, true), lint(noTransaction, false), statementsOf(directory, names)],
      { concurrency: "unbounded" }
    )
    return [...fromTransactional, ...fromOthers].map((v): Finding => {
      const file = path.basename(v.file)
      // squawk counts lines from 0.
      const statement = statementAtLine(statements.get(file) ?? [], v.line + 1)
      const help = v.help === undefined || v.help === null || v.help === "" ? "" : ` (${v.help})`
      return finding({
        file,
        line: statement?.line ?? v.line + 1,
        statement: statement === undefined ? undefined : headline(statement.text),
        source: "squawk",
        rule: v.rule_name,
        message: `${v.message}${help}`
      })
    })
  })
