/**
 * What commands print: aligned tables for people, JSON for machines (every
 * listing and record command takes --json, see views.ts), and short status
 * lines. Everything goes through effect's Console, so a test can capture it.
 */
import { Console, Effect, Schema } from "effect"
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

/**
 * `value` as JSON through its view's Schema (dates become ISO strings, as the
 * Schema's JSON codec says), two-space indented.
 */
export const printJson = <S extends Schema.Codec<unknown, unknown, never, never>>(view: S, value: S["Type"]): Effect.Effect<void> =>
  Effect.suspend(() => Console.log(JSON.stringify(Schema.encodeSync(Schema.toCodecJson(view))(value), null, 2)))

export const printTable = <A>(
  columns: ReadonlyArray<Column<A>>,
  rows: ReadonlyArray<A>,
  empty: string
): Effect.Effect<void> => Console.log(rows.length === 0 ? empty : renderTable(columns, rows))
