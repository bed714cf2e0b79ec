/**
 * A one-line progress bar redrawn in place on a terminal (stderr, so stdout
 * keeps only the result).
 */
import { Effect } from "effect"
import type { Stdio } from "effect"
import { writeStderr } from "../../terminal.ts"

const width = 30

export const renderBar = (done: number, total: number): string => {
  const ratio = total === 0 ? 1 : Math.min(1, done / total)
  const filled = Math.round(ratio * width)
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} (${Math.round(ratio * 100)}%)`
}

export const drawBar = (done: number, total: number): Effect.Effect<void, never, Stdio.Stdio> =>
  writeStderr(`\r${renderBar(done, total)}`)

export const endBar: Effect.Effect<void, never, Stdio.Stdio> = writeStderr("\n")
