// Command control-plane-engine is the project's schema engine: the Atlas
// library (ariga.io/atlas v1.2.3) driven for PostgreSQL 14 and newer, with
// statements classified by PostgreSQL's own parser (pg_query_go).
//
// This comment is the contract the TypeScript Engine service is written
// against. Keep it true.
//
// # Invocation
//
//	control-plane-engine <group> <verb> [flags] [args]   (group: schema, migrate, sql, hcl)
//	control-plane-engine version
//
// Global flags (anywhere after the verb):
//
//	--config PATH       atlas.hcl to read (default: atlas.hcl in the working directory)
//	--env NAME          env block of atlas.hcl (default: local)
//	--format json|human output form (default: human)
//
// Flags take `--name value` or `--name=value`. Connection strings never
// appear on the command line: the engine evaluates atlas.hcl itself, and its
// `variable` blocks read them with getenv (DATABASE_URL for `url`,
// ATLAS_DEV_URL for `dev` in this repository). The dev database is an empty
// scratch database that the caller created and drops; the engine creates
// objects in it and cleans them up where Atlas does, but never drops it.
//
// atlas.hcl: `variable` blocks (default = getenv("X")), `env "name"` blocks
// with src (a file:// path or list of paths, relative to atlas.hcl), url, dev,
// migration { dir, lock_timeout }, diff { skip { drop_schema drop_table ...
// (every key of the CLI) } concurrent_index { add create drop } },
// lint { <analyzer> { error } }, and the same diff/lint blocks at top level
// as defaults for every env.
// Other attributes and blocks (format, exclude, ...) are tolerated, as the
// official CLI tolerates them; the same file stays valid for it.
//
// # Output and exit codes
//
// With --format json, stdout carries exactly one JSON document, on success
// and on failure. A failure is
//
//	{"error":{"reason":"<Reason>","message":"<one sentence>", ...optional fields}}
//
// With --format human, results are concise text on stdout and a failure is
// one line `error: <sentence>` on stderr.
//
// Exit codes: 0 success (also "in sync", "no findings", nothing to do);
// 1 failure; 2 usage error (unknown group, verb or flag, missing or extra
// argument: the sentence names it); 3 findings (drift, lint errors).
//
// Reasons: Usage, ConfigInvalid (atlas.hcl unreadable or invalid, names file
// and line; an env without url/dev/src/migration dir; a malformed URL),
// SchemaInvalid (schema HCL syntax or evaluation error naming file and line,
// or a schema that does not build on the dev database), ServerUnreachable
// (refused, unreachable, DNS, timeout, or a database that does not exist;
// never the URL), AuthFailed, UnsupportedServer (names the version, e.g.
// "PostgreSQL 13.23 is not supported: the engine needs PostgreSQL 14 or
// newer"), PermissionDenied (SQLSTATE 42501 anywhere), ChecksumMismatch
// (atlas.sum does not match; field file), MigrationFailed (fields version,
// file, statementIndex, sqlstate, statement = its first line; the message
// names file and statement number; schema apply uses it too, without version
// and file), PlanFailed, LockTimeout (another migrate apply holds the
// advisory lock), DirtyDatabase (objects but no revision table, a revision
// newer than the directory, a non-linear history, a changed partial file, a
// dev database that is not empty), DevDatabaseNeeded (schema apply without a
// dev database on a target that holds a declared schema), Internal. No message contains a URL, a
// password or a host:port: driver errors are classified, not quoted, and
// every message is scrubbed.
//
// # Verbs
//
// version → {"engine":"0.1.0","atlas":"v1.2.3"}
//
// schema apply [--dry-run] → {"changes":[{"comment","sql"}],"applied":bool}.
// Evaluates env.src, normalises it on the dev database, inspects only the
// schemas it declares, diffs without ever dropping a schema (diff.skip
// honoured) and with atlas.hcl's concurrent_index options (CONCURRENTLY only
// for indexes on tables that already exist), plans, and applies in ONE
// transaction unless a statement cannot run in one (CREATE/DROP INDEX
// CONCURRENTLY): then statement by statement. Works on an empty database
// (schema and enums in one plan); a second run plans nothing. applied is
// false for --dry-run and for an empty plan. Functions and triggers are not
// inspected, so never dropped. The dev database may be left out (an empty
// dev url) when the target holds none of the schemas env.src declares: with
// nothing to compare with, the evaluated state is planned without
// normalising (the same statements, up to order and spelling) and applied in
// one transaction; a target that holds one of them is DevDatabaseNeeded
// (nothing written).
//
// schema diff → {"inSync":bool,"changes":[...]}; exit 3 when not in sync.
//
// migrate diff NAME [--dir-only] → {"written":["<version>_<NAME>.sql"],"version":"..."}.
// Replays the migration directory on the dev database, diffs it to env.src
// and writes the next file in Atlas's format (a `-- Comment` line above each
// statement; `-- atlas:txmode none` and a blank line first when a statement
// runs CONCURRENTLY), then rewrites atlas.sum. --dir-only writes the file but
// leaves atlas.sum to a later `migrate hash` (for a caller that edits the
// file first). Version: UTC YYYYMMDDHHMMSS, or the newest existing version
// plus one when that is not older (never a sleep). NAME must match
// ^[a-z][a-z0-9_]{0,62}$ (else Usage). No changes: written [] and version
// "", exit 0.
//
// migrate new NAME → same shape: an empty file with the next version; atlas.sum updated.
//
// migrate hash → {"written":["atlas.sum"],"version":""}.
//
// migrate apply [--dry-run] → {"applied":[{"version","description","statements","durationMs"}],"current":"<version or empty>","pending":n}.
// Checks atlas.sum first, takes the CLI's `atlas_migrate_execute` advisory
// lock (gives up with LockTimeout after migration.lock_timeout, default 10s),
// keeps the CLI's revision table atlas_schema_revisions.atlas_schema_revisions
// (byte-compatible), runs each file in a transaction of its own unless it
// starts with `-- atlas:txmode none`. A transactional file that fails is
// rolled back and leaves no revision row (as with the CLI); a txmode-none
// file that fails at statement k is recorded as k-1 of n applied with error
// and error_stmt, and the next run resumes at statement k. statements counts
// the statements run now; current is the newest fully applied version;
// pending is 0 after a real run. --dry-run writes nothing, applies nothing:
// applied is [], pending is the number of pending files, planned lists them
// (extra fields "planned" and "dryRun").
//
// migrate status → {"current","next","pending":["version",...],"applied":n,"partial":null|{"version","applied","total","error"}}; exit 0.
// Read-only (no revision table is created).
//
// migrate serve → the engine as a co-process for many databases (a fleet
// run): atlas.hcl's env and the migration directory (atlas.sum checked) read
// once at start, then one JSON request per line on stdin,
// {"id","verb":"status"|"apply","url"} (url is getenv("DATABASE_URL") for
// that request; {"id","cancel":true} cancels one in flight), each worked on
// concurrently and answered with one line {"id","result":<the verb's
// document>} or {"id","error":{...}}, in completion order. End of stdin
// cancels what is in flight and exits 0. --format json only. See serve.go.
//
// migrate validate → {"valid":true,"files":n}: atlas.sum check plus a replay
// of every file on the dev database (ChecksumMismatch, MigrationFailed).
//
// migrate lint (--latest N | --file NAME [--file NAME ...]) →
// {"files":[...],"findings":[{"file","line","pos","code","analyzer","message","statement","error"}]}; exit 3 when a finding is an error.
// Replays the older files on the dev database, then each selected file
// statement by statement, re-inspecting after each (except after statements
// on functions and triggers, and SET, which change nothing it compares), and runs Atlas's
// PostgreSQL analyzers (destructive DS101-103, data_depend MF101-104,
// incompatible BC101-102 with renames recognised by the parser, condrop
// CD101) and the engine's concurrent_index (PG101 CREATE INDEX without
// CONCURRENTLY on an existing table, PG102 DROP INDEX without CONCURRENTLY,
// PG103 CONCURRENTLY in a file that runs in a transaction: reported at each
// such statement). A statement that fails to replay is finding RP101
// (analyzer "replay") and ends the replay. Every analyzer is an error unless
// atlas.hcl sets `lint { <analyzer> { error = false } }` (then its findings
// have error false and do not change the exit code). `-- atlas:nolint RULE
// ... -- reason` directly above a statement, or in the leading directive
// block for the whole file, excuses the named codes or analyzers; rules stop
// at the `--` of the reason; a marker naming no rule excuses nothing. line
// is the statement's first line, pos its byte offset.
//
// sql statements FILE [FILE...] (or - for standard input) →
// {"files":[{"file","statements":[{"index","line","endLine","pos","text","kind","concurrently","transactional","tables","error"?}]}]}.
// Statements are found with PostgreSQL's scanner and parser (dollar quotes,
// nested comments, E” strings, BEGIN ATOMIC); kind is the parse node type
// (CreateStmt, IndexStmt, ...); transactional is false for statements that
// cannot run in a transaction block; tables are "schema.table" when
// qualified. A statement that does not parse has kind "" and error set.
//
// hcl json FILE [FILE...] (or - for standard input) →
// {"files":[{"file","body":{...}}]}. Each file's syntax as plain JSON,
// nothing evaluated (for the renderer of routines.hcl, whose blocks the Atlas
// library does not evaluate): a block is body[type][label]...[label], an array
// of bodies (several blocks may share them); an attribute is its literal
// (string, number, bool, null), a string for a quoted or heredoc string
// (`<<-` indentation removed), an array for [...], an object for {...};
// anything else (a reference such as schema.public, a bare identifier such as
// PLpgSQL, a function call) is its source text as "${...}", and so is each
// interpolation inside a string (a literal "${" or "%{" stays escaped as
// "$${" and "%%{"). A syntax error, a block clashing with an
// attribute of the same name, or a template directive (%{ if }, %{ for }) is
// SchemaInvalid naming file and line; an unreadable file is Usage.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// engineVersion is this program's version, reported by `version` and stored
// in operator_version of the revisions it writes.
const engineVersion = "0.1.0"

const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitFindings = 3
)

// verbSpec declares what a verb accepts.
type verbSpec struct {
	bools   []string // boolean flags
	ints    []string // integer flags
	multi   []string // repeatable string flags
	minArgs int
	maxArgs int // -1: unlimited
	argName string
}

var verbs = map[string]verbSpec{
	"version":          {},
	"schema apply":     {bools: []string{"dry-run"}},
	"schema diff":      {},
	"migrate diff":     {bools: []string{"dir-only"}, minArgs: 1, maxArgs: 1, argName: "NAME"},
	"migrate new":      {minArgs: 1, maxArgs: 1, argName: "NAME"},
	"migrate hash":     {},
	"migrate apply":    {bools: []string{"dry-run"}},
	"migrate status":   {},
	"migrate serve":    {},
	"migrate validate": {},
	"migrate lint":     {ints: []string{"latest"}, multi: []string{"file"}},
	"sql statements":   {minArgs: 1, maxArgs: -1, argName: "FILE"},
	"hcl json":         {minArgs: 1, maxArgs: -1, argName: "FILE"},
}

// invocation is a parsed command line.
type invocation struct {
	verb   string
	config string
	env    string
	format string
	bools  map[string]bool
	ints   map[string]int
	multi  map[string][]string
	args   []string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program, testable: it parses, dispatches and writes the
// one output document.
func run(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	inv, err := parseArgs(argv)
	format := "human"
	if inv != nil {
		format = inv.format
	} else if formatRequested(argv) == "json" {
		format = "json"
	}
	if err != nil {
		return report(stdout, stderr, format, nil, err)
	}
	if inv.verb == "migrate serve" {
		// Answers on stdout as it goes; only a failure to start is a document of its own.
		if err := migrateServe(ctx, inv, stdin, stdout); err != nil {
			return report(stdout, stderr, format, nil, err)
		}
		return exitOK
	}
	result, err := dispatch(ctx, inv, stdin)
	return report(stdout, stderr, format, result, err)
}

// formatRequested finds --format in argv when parsing failed, so that a usage
// error is still one JSON document for a caller that asked for JSON.
func formatRequested(argv []string) string {
	for i, a := range argv {
		if a == "--format=json" || (a == "--format" && i+1 < len(argv) && argv[i+1] == "json") {
			return "json"
		}
	}
	return "human"
}

func parseArgs(argv []string) (*invocation, error) {
	verb, rest, err := verbOf(argv)
	if err != nil {
		return nil, err
	}
	spec := verbs[verb]
	inv := &invocation{verb: verb, config: "atlas.hcl", env: "local", format: "human",
		bools: map[string]bool{}, ints: map[string]int{}, multi: map[string][]string{}}
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if !strings.HasPrefix(a, "--") || a == "--" {
			inv.args = append(inv.args, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if contains(spec.bools, name) {
			if hasValue {
				return nil, usage("flag --%s takes no value", name)
			}
			inv.bools[name] = true
			continue
		}
		if !contains([]string{"config", "env", "format"}, name) && !contains(spec.ints, name) && !contains(spec.multi, name) {
			return nil, usage("unknown flag --%s for %s", name, verb)
		}
		if !hasValue {
			if i+1 >= len(rest) {
				return nil, usage("flag --%s needs a value", name)
			}
			i++
			value = rest[i]
		}
		if err := inv.set(name, value, spec); err != nil {
			return nil, err
		}
	}
	return inv, checkArgs(inv, spec)
}

// verbOf reads "<group> <verb>" (or "version") from the front of argv.
func verbOf(argv []string) (string, []string, error) {
	if len(argv) == 0 {
		return "", nil, usage("missing command: control-plane-engine <schema|migrate|sql|hcl> <verb> [flags], or version")
	}
	if argv[0] == "version" {
		return "version", argv[1:], nil
	}
	groups := map[string]bool{"schema": true, "migrate": true, "sql": true, "hcl": true}
	if !groups[argv[0]] {
		return "", nil, usage("unknown command %q: expected schema, migrate, sql, hcl or version", argv[0])
	}
	if len(argv) < 2 || strings.HasPrefix(argv[1], "-") {
		return "", nil, usage("missing verb after %s", argv[0])
	}
	verb := argv[0] + " " + argv[1]
	if _, ok := verbs[verb]; !ok {
		return "", nil, usage("unknown verb %q for %s", argv[1], argv[0])
	}
	return verb, argv[2:], nil
}

func (inv *invocation) set(name, value string, spec verbSpec) error {
	switch {
	case name == "config":
		inv.config = value
	case name == "env":
		inv.env = value
	case name == "format":
		if value != "json" && value != "human" {
			return usage("flag --format must be json or human, not %q", value)
		}
		inv.format = value
	case contains(spec.ints, name):
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 {
			return usage("flag --%s needs a positive number, not %q", name, value)
		}
		inv.ints[name] = n
	default:
		inv.multi[name] = append(inv.multi[name], value)
	}
	return nil
}

func checkArgs(inv *invocation, spec verbSpec) error {
	if len(inv.args) < spec.minArgs {
		return usage("%s needs the argument %s", inv.verb, spec.argName)
	}
	if spec.maxArgs >= 0 && len(inv.args) > spec.maxArgs {
		return usage("%s takes no argument %q", inv.verb, inv.args[spec.maxArgs])
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// humanResult is every result: JSON-encodable and printable for people.
type humanResult interface{ human() string }

// findingsResult is a result that can mean exit 3.
type findingsResult interface{ hasFindings() bool }

func dispatch(ctx context.Context, inv *invocation, stdin io.Reader) (humanResult, error) {
	switch inv.verb {
	case "version":
		return versionResult{Engine: engineVersion, Atlas: atlasVersion()}, nil
	case "sql statements":
		return sqlStatements(inv.args, stdin)
	case "hcl json":
		return hclJSON(inv.args, stdin)
	}
	c, err := loadConfig(inv.config, inv.env)
	if err != nil {
		return nil, err
	}
	switch inv.verb {
	case "schema apply":
		return nilSafe(schemaApply(ctx, c, inv.bools["dry-run"]))
	case "schema diff":
		return nilSafe(schemaDiff(ctx, c))
	case "migrate diff":
		return nilSafe(migrateDiff(ctx, c, inv.args[0], inv.bools["dir-only"]))
	case "migrate new":
		return nilSafe(migrateNew(c, inv.args[0]))
	case "migrate hash":
		return nilSafe(migrateHash(c))
	case "migrate apply":
		return nilSafe(migrateApply(ctx, c, inv.bools["dry-run"]))
	case "migrate status":
		return nilSafe(migrateStatus(ctx, c))
	case "migrate validate":
		return nilSafe(migrateValidate(ctx, c))
	case "migrate lint":
		return nilSafe(migrateLint(ctx, c, inv.ints["latest"], inv.multi["file"]))
	}
	return nil, usage("unknown verb %q", inv.verb)
}

// nilSafe keeps a typed nil result from becoming a non-nil interface.
func nilSafe[T humanResult](r T, err error) (humanResult, error) {
	if err != nil {
		return nil, err
	}
	return r, nil
}

type versionResult struct {
	Engine string `json:"engine"`
	Atlas  string `json:"atlas"`
}

func (v versionResult) human() string {
	return fmt.Sprintf("control-plane-engine %s (Atlas %s)\n", v.Engine, v.Atlas)
}

// atlasVersion is the ariga.io/atlas module version linked in.
func atlasVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "ariga.io/atlas" {
				return dep.Version
			}
		}
	}
	return "v1.2.3"
}

// operatorVersion is stored in the revisions the engine writes.
func operatorVersion() string {
	return fmt.Sprintf("control-plane-engine %s (Atlas %s)", engineVersion, atlasVersion())
}

func (r *diffResult) hasFindings() bool { return !r.InSync }
func (r *lintResult) hasFindings() bool { return r.hasErrors() }

// report writes the one output document and returns the exit code.
func report(stdout, stderr io.Writer, format string, result humanResult, err error) int {
	if err != nil {
		ee := asEngineError(err)
		if format == "json" {
			writeJSON(stdout, map[string]any{"error": ee.document()})
		} else {
			fmt.Fprintf(stderr, "error: %s\n", ee.Message)
		}
		if ee.Reason == reasonUsage {
			return exitUsage
		}
		return exitFailure
	}
	if format == "json" {
		writeJSON(stdout, result)
	} else {
		fmt.Fprint(stdout, result.human())
	}
	if f, ok := result.(findingsResult); ok && f.hasFindings() {
		return exitFindings
	}
	return exitOK
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
