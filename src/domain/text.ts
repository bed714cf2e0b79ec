/**
 * The rules for short human-entered text stored in varchar(n) columns
 * (tenant names, config keys).
 */
import { Schema } from "effect"

// Cc: C0/C1 controls (NUL, newline, escape, ...); Cs: lone UTF-16 surrogates.
const forbiddenCharacter = /[\p{Cc}\p{Cs}]/u

/**
 * A string of 1 to `maxLength` characters, without leading or trailing
 * whitespace, control characters or lone surrogates.
 *
 * - Length counts Unicode code points, as PostgreSQL's varchar(n) does, so a
 *   value that passes always fits its column (JS `length` counts UTF-16 units
 *   and would refuse 200 emoji that the column holds).
 * - Surrounding whitespace would make "acme" and "acme " two different
 *   values that look alike.
 * - Control characters cannot be shown safely in a terminal or a log (and
 *   PostgreSQL refuses NUL outright).
 * - A lone surrogate cannot be encoded as UTF-8: the stored value would differ
 *   from the one given.
 */
export const BoundedText = (maxLength: number) =>
  Schema.String.check(
    Schema.makeFilter((text: string) => text.length > 0 || "must not be empty"),
    // UTF-16 units >= code points, so only a long string needs counting.
    Schema.makeFilter((text: string) =>
      text.length <= maxLength || [...text].length <= maxLength || `must be at most ${maxLength} characters`
    ),
    Schema.makeFilter((text: string) => text.trim() === text || "must not start or end with whitespace"),
    Schema.makeFilter((text: string) =>
      !forbiddenCharacter.test(text) || "must not contain control characters or lone surrogates"
    )
  )

// Characters that change how the text around them shows without showing
// themselves: bidirectional controls (U+202E shows the rest of a name right
// to left, the "Trojan Source" trick) and the other default-ignorable code
// points, which render as nothing and make two different names look the same
// (zero width space, word joiner, byte order mark, soft hyphen, Hangul
// fillers, ...), plus the interlinear annotation marks. Kept, because text
// needs them: zero width joiner and non-joiner (emoji sequences, several
// scripts), variation selectors (emoji presentation), Mongolian free variation
// selectors, and tag characters (subdivision flags such as Scotland's).
const hiddenCharacter =
  /(?![\u200C\u200D\u180B-\u180D\u180F\uFE00-\uFE0F\u{E0020}-\u{E007F}\u{E0100}-\u{E01EF}])[\p{Default_Ignorable_Code_Point}\uFFF9-\uFFFB]/u

/**
 * BoundedText that must also look like what it is: no bidirectional controls
 * or invisible characters (the first one found is named), for names people
 * pick a tenant by.
 */
export const VisibleText = (maxLength: number) =>
  BoundedText(maxLength).check(
    Schema.makeFilter((text: string) => {
      const hidden = hiddenCharacter.exec(text)?.[0]
      return hidden === undefined ||
        `must not contain invisible or text-direction characters (U+${hidden.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")})`
    })
  )
