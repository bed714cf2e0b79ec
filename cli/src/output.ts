/**
 * What commands print: aligned tables for people, JSON for machines (every
 * listing and record command takes --json), and short status lines.
 */
import { Console, Effect } from "effect"
import { Flag } from "effect/cli"

/** `--json`: print JSON (one document on stdout) instead of a table. */
export const jsonFlag = Flag.Boolean("json").pipe(
  Flag.withDescription("Print JSON instead of a human-readable table."),
  Flag.withDefault(false)
)

/** Dates as `2026-11-27 09:30:00Z`: sortable, unambiguous, second precision. */
export const formatDate = (date: Date): string => `${date.toISOString().slice(0, 19).replace("T", " ")}Z`

export interface Column<A> {
  readonly header: string
  readonly value: (row: A) => string
}

/** Rows under a header, columns padded to their widest cell, two spaces apart. */
export const renderTable = <A>(columns: ReadonlyArray<Column<A>>, rows: ReadonlyArray<A>): string => {
  const cells = [columns.map((c) => c.header), ...rows.map((row) => columns.map((c) => c.value(row)))]
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => [...line[i]!].length)))
  return cells
    .map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd())
    .join("\n")
}

/** A record as `field: value` lines, labels aligned. */
export const renderRecord = (fields: ReadonlyArray<readonly [string, string]>): string => {
  const width = Math.max(...fields.map(([label]) => label.length))
  return fields.map(([label, value]) => `${`${label}:`.padEnd(width + 1)} ${value}`).join("\n")
}

/** JSON with dates as ISO strings, two-space indented. */
export const printJson = (value: unknown): Effect.Effect<void> => Console.log(JSON.stringify(value, null, 2))

export const printTable = <A>(
  columns: ReadonlyArray<Column<A>>,
  rows: ReadonlyArray<A>,
  empty: string
): Effect.Effect<void> => Console.log(rows.length === 0 ? empty : renderTable(columns, rows))
