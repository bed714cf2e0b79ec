/**
 * How the CLI ends: every failure becomes one line on stderr and an exit code.
 *
 *   0  success
 *   1  a domain or runtime failure: not found, name taken, decryption failed,
 *      the database unreachable, a schema tool that failed
 *   2  a usage error: bad flags or arguments, input the services refuse
 *      (InvalidInput, a name prefix that is malformed or makes names too
 *      long), bad JSON, missing or malformed configuration, a confirmation
 *      that cannot be asked
 *
 * Messages come from the errors themselves, which carry ids and never
 * secrets; as a last guard, anything that looks like a connection string, and
 * the configured secrets themselves, are masked before printing.
 */
import { Cause, Schema, SchemaIssue } from "effect"
import { CliError } from "effect/cli"

/** The user asked for something the CLI cannot do as asked; exit 2. */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  message: Schema.String
}) {}

export type ExitCode = 0 | 1 | 2

/** Tags of failures caused by how the CLI was called or configured. */
const usageTags = new Set([
  "UsageError",
  "InvalidInput",
  "ConfigError",
  "KeyRingError",
  "IdentifierTooLong",
  "InvalidNamePrefix",
  "ConnectionBudgetConfigError"
])

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
    ? error._tag
    : undefined

export const exitCodeOf = (error: unknown): ExitCode => {
  if (CliError.isCliError(error)) return error._tag === "ShowHelp" && error.errors.length === 0 ? 0 : 2
  const tag = tagOf(error)
  // A delegated script's own code: 2 stays a usage error, anything else is a failure.
  if (tag === "ChildFailed") return (error as { readonly exitCode: number }).exitCode === 2 ? 2 : 1
  return tag !== undefined && usageTags.has(tag) ? 2 : 1
}

/** A parse error as one line; the library puts its "Did you mean" suggestions on lines of their own. */
const cliErrorLine = (error: CliError.CliError): string => {
  const [first = ""] = error.message.split("\n")
  const suggestions = "suggestions" in error ? error.suggestions : []
  return suggestions.length > 0 ? `${first} (did you mean ${suggestions.join(" or ")}?)` : oneLine(error.message)
}

const standardIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * "DATABASE_URL is not set" rather than the schema's `Expected string at
 * ["DATABASE_URL"]`; for a value that is set but invalid, the variable and
 * what was expected (never the value).
 */
const describeConfigError = (error: { readonly cause: unknown }, env: NodeJS.ProcessEnv): string => {
  const cause = error.cause
  if (Schema.isSchemaError(cause)) {
    const issue = standardIssues(cause.issue).issues[0]
    const name = issue?.path?.map(String).join("_")
    if (issue !== undefined && name !== undefined && name !== "") {
      if ((env[name] ?? "").trim() === "") {
        return `${name} is not set${name === "DATABASE_URL" ? ": set it to the connection string of the control-plane database" : ""}`
      }
      return `${name} is invalid: ${oneLine(issue.message)}`
    }
  }
  return "the configuration could not be read"
}

/** The one line to print for a failure (before masking). */
export const messageOf = (error: unknown, env: NodeJS.ProcessEnv = process.env): string => {
  if (CliError.isCliError(error)) {
    if (error._tag === "ShowHelp") return error.errors.map(cliErrorLine).join("; ")
    return cliErrorLine(error)
  }
  const tag = tagOf(error)
  if (tag === "ConfigError") return describeConfigError(error as { readonly cause: unknown }, env)
  if (error instanceof Error && tag !== undefined) return oneLine(error.message)
  // Not one of ours: its message may quote anything, so only its kind is shown.
  return `unexpected internal failure (${error instanceof Error ? error.name : typeof error})`
}

/**
 * A multi-line message (Schema's issue lists: `Expected ...` then `  at ["name"]`)
 * as one line: each `at` joins the issue above it, issues are separated by "; ".
 */
export const oneLine = (text: string): string => {
  const parts: Array<string> = []
  for (const line of text.split("\n").map((l) => l.trim()).filter((l) => l !== "")) {
    if (line.startsWith("at ") && parts.length > 0) parts[parts.length - 1] += ` ${line}`
    else parts.push(line)
  }
  return parts.join("; ")
}

/**
 * Failures that were already shown: the help page of a bare command group
 * (`control-plane tenants`, not an error at all) and a delegated script that
 * printed its own report.
 */
const alreadyReported = (error: unknown): boolean =>
  (CliError.isCliError(error) && error._tag === "ShowHelp" && error.errors.length === 0) ||
  tagOf(error) === "ChildFailed"

/**
 * The line to print for a cause (its first failure, else its first defect;
 * undefined when the failure has been shown already) and the exit code.
 */
export const messageOfCause = (
  cause: Cause.Cause<unknown>
): { readonly message: string | undefined; readonly code: ExitCode } => {
  const failure = cause.reasons.find(Cause.isFailReason)
  if (failure !== undefined) {
    return {
      message: alreadyReported(failure.error) ? undefined : messageOf(failure.error),
      code: exitCodeOf(failure.error)
    }
  }
  const defect = cause.reasons.find(Cause.isDieReason)
  return { message: messageOf(defect?.defect), code: 1 }
}

