package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"ariga.io/atlas/sql/migrate"
	_ "ariga.io/atlas/sql/postgres/postgrescheck" // registers destructive, data_depend, incompatible, condrop
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlcheck"
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// replayCode is the engine's code for a statement that does not run on the
// dev database (e.g. NOT NULL added to a table that has rows): the file would
// fail on a real database too.
const replayCode = "RP101"

// analyzerOfCode names the analyzer of each code the engine reports.
var analyzerOfCode = map[string]string{
	"DS101": "destructive", "DS102": "destructive", "DS103": "destructive",
	"MF101": "data_depend", "MF102": "data_depend", "MF103": "data_depend", "MF104": "data_depend",
	"BC101": "incompatible", "BC102": "incompatible",
	"CD101": "condrop",
	"PG101": "concurrent_index", "PG102": "concurrent_index", "PG103": "concurrent_index",
	replayCode: "replay",
}

type finding struct {
	File      string `json:"file"`
	Line      int    `json:"line"`
	Pos       int    `json:"pos"`
	Code      string `json:"code"`
	Analyzer  string `json:"analyzer"`
	Message   string `json:"message"`
	Statement string `json:"statement"`
	// Error is false only for an analyzer atlas.hcl sets to `error = false`.
	Error bool `json:"error"`
}

type lintResult struct {
	Files    []string  `json:"files"`
	Findings []finding `json:"findings"`
}

// hasErrors tells whether the lint fails (exit 3).
func (r *lintResult) hasErrors() bool {
	for _, f := range r.Findings {
		if f.Error {
			return true
		}
	}
	return false
}

// lintFile is one file being replayed, with its statements.
type lintFile struct {
	file   migrate.File
	stmts  []*migrate.Stmt
	target bool // linted, not only replayed
}

// migrateLint replays the files before the selected ones on the dev database,
// then the selected ones statement by statement, and runs the analyzers on
// the schema change of each statement.
func migrateLint(ctx context.Context, c *config, latest int, names []string) (*lintResult, error) {
	dir, err := openMigrationDir(c, true)
	if err != nil {
		return nil, err
	}
	all, err := dir.Files()
	if err != nil {
		return nil, asEngineError(err)
	}
	first, targets, err := selectLintFiles(all, latest, names)
	if err != nil {
		return nil, err
	}
	devURL, err := c.requireDevURL()
	if err != nil {
		return nil, err
	}
	dev, err := connect(ctx, devURL)
	if err != nil {
		return nil, aboutDev(err)
	}
	defer dev.Close()
	analyzers, err := lintAnalyzers(c)
	if err != nil {
		return nil, err
	}
	restore, err := dev.Driver.Snapshot(ctx)
	if err != nil {
		return nil, replayError(dev.Driver, err)
	}
	defer func() { _ = restore(ctx) }()
	result := &lintResult{Files: []string{}, Findings: []finding{}}
	for _, f := range all[first:] {
		if targets[f.Name()] {
			result.Files = append(result.Files, f.Name())
		}
	}
	l := &linter{dev: dev, analyzers: analyzers, levels: errorLevels(c), result: result}
	if err := l.run(ctx, all, first, targets); err != nil {
		return nil, err
	}
	sort.SliceStable(result.Findings, func(i, j int) bool {
		a, b := result.Findings[i], result.Findings[j]
		return a.File < b.File || (a.File == b.File && a.Pos < b.Pos)
	})
	return result, nil
}

// selectLintFiles returns the index of the first selected file and the set of
// selected names.
func selectLintFiles(all []migrate.File, latest int, names []string) (int, map[string]bool, error) {
	targets := map[string]bool{}
	switch {
	case latest > 0 && len(names) > 0, latest <= 0 && len(names) == 0:
		return 0, nil, usage("migrate lint needs exactly one of --latest N or --file NAME")
	case latest > 0:
		first := max(len(all)-latest, 0)
		for _, f := range all[first:] {
			targets[f.Name()] = true
		}
		return first, targets, nil
	}
	first := len(all)
	for _, name := range names {
		idx := -1
		for i, f := range all {
			if f.Name() == filepath.Base(name) {
				idx = i
			}
		}
		if idx == -1 {
			return 0, nil, usage("--file %s is not a migration file of the directory", filepath.Base(name))
		}
		targets[all[idx].Name()] = true
		first = min(first, idx)
	}
	return first, targets, nil
}

// lintAnalyzers are Atlas's PostgreSQL analyzers with atlas.hcl's lint
// options, plus the engine's concurrent-index analyzer (PG101-103), which
// Atlas v1.2.3's open-source build no longer has.
func lintAnalyzers(c *config) ([]sqlcheck.Analyzer, error) {
	azs, err := sqlcheck.AnalyzerFor("postgres", c.lintResource())
	if err != nil {
		return nil, fail(reasonConfigInvalid, "the lint block of %s is invalid: %s", filepath.Base(c.File), sentence(err.Error()))
	}
	return append(azs, concurrentIndexAnalyzer{}), nil
}

// errorLevels: every analyzer is an error unless atlas.hcl says
// `lint { <analyzer> { error = false } }`.
func errorLevels(c *config) map[string]bool {
	levels := map[string]bool{}
	for _, name := range []string{"destructive", "data_depend", "incompatible", "condrop", "concurrent_index", "replay"} {
		levels[name] = true
		if r, ok := c.lintResource().Resource(name); ok {
			if attr, ok := r.Attr("error"); ok {
				if v, err := attr.Bool(); err == nil {
					levels[name] = v
				}
			}
		}
	}
	return levels
}

type linter struct {
	dev       *database
	analyzers []sqlcheck.Analyzer
	levels    map[string]bool
	result    *lintResult
}

// run replays the files before first, then each later file statement by
// statement; a statement that fails is a finding and ends the replay, since
// everything after it depends on it.
func (l *linter) run(ctx context.Context, all []migrate.File, first int, targets map[string]bool) error {
	for _, f := range all[:first] {
		stmts, err := migrate.FileStmtDecls(l.dev.Driver, f)
		if err != nil {
			return fail(reasonMigrationFailed, "%s cannot be split into statements: %s", f.Name(), sentence(err.Error())).with("file", f.Name())
		}
		for _, s := range stmts {
			if _, err := l.dev.DB.ExecContext(ctx, s.Text); err != nil {
				l.replayFailed(f, s, err)
				return nil
			}
		}
	}
	current, err := l.inspect(ctx)
	if err != nil {
		return err
	}
	for _, f := range all[first:] {
		next, ok, err := l.lintFile(ctx, f, current, targets[f.Name()])
		if err != nil || !ok {
			return err
		}
		current = next
	}
	return nil
}

// lintFile executes one file statement by statement, collecting the schema
// change of each, and analyzes it when it is a target. ok is false when a
// statement failed to replay.
func (l *linter) lintFile(ctx context.Context, f migrate.File, start *schema.Realm, target bool) (*schema.Realm, bool, error) {
	stmts, err := migrate.FileStmtDecls(l.dev.Driver, f)
	if err != nil {
		return nil, false, fail(reasonMigrationFailed, "%s cannot be split into statements: %s", f.Name(), sentence(err.Error())).with("file", f.Name())
	}
	file := &sqlcheck.File{File: f, From: start}
	current := start
	for _, s := range stmts {
		if _, err := l.dev.DB.ExecContext(ctx, s.Text); err != nil {
			l.replayFailed(f, s, err)
			if target {
				// What ran before the failure is still analyzed.
				file.To = current
				l.analyze(ctx, file, stmts)
			}
			return nil, false, nil
		}
		if !target {
			continue
		}
		if outsideRealm(s.Text) {
			file.Changes = append(file.Changes, &sqlcheck.Change{Stmt: s})
			continue
		}
		next, err := l.inspect(ctx)
		if err != nil {
			return nil, false, err
		}
		changes, err := l.dev.Driver.RealmDiff(current, next)
		if err != nil {
			return nil, false, fail(reasonPlanFailed, "%s: the change of a statement cannot be computed: %s", f.Name(), sentence(err.Error()))
		}
		file.Changes = append(file.Changes, &sqlcheck.Change{Stmt: s, Changes: withRenames(s.Text, changes)})
		current = next
	}
	if !target {
		next, err := l.inspect(ctx)
		return next, err == nil, err
	}
	file.To = current
	if file.Sum, err = l.dev.Driver.RealmDiff(start, current); err != nil {
		return nil, false, fail(reasonPlanFailed, "%s: its change cannot be computed: %s", f.Name(), sentence(err.Error()))
	}
	l.analyze(ctx, file, stmts)
	return current, true, nil
}

// outsideRealm tells whether a statement cannot change anything the dev
// database's inspection reads (schemas, tables, columns, indexes,
// constraints, enums and their comments), so that no inspection is needed
// after it: functions, procedures and triggers, comments on them, and
// session settings. A routines migration is almost all such statements, and
// each inspection is a round of catalog queries (about 30 ms): linting every
// migration of this project took 9.8 s with one after every statement.
// Constraint triggers (a pg_constraint row) and drops with CASCADE (which
// may take a column default or a constraint along) are inspected as usual.
func outsideRealm(stmt string) bool {
	tree, err := pg_query.Parse(stmt)
	if err != nil || len(tree.Stmts) != 1 {
		return false
	}
	switch n := tree.Stmts[0].Stmt.GetNode().(type) {
	case *pg_query.Node_CreateFunctionStmt, *pg_query.Node_VariableSetStmt:
		return true
	case *pg_query.Node_CreateTrigStmt:
		return !n.CreateTrigStmt.Isconstraint
	case *pg_query.Node_CommentStmt:
		return isRoutine(n.CommentStmt.Objtype)
	case *pg_query.Node_DropStmt:
		return n.DropStmt.Behavior != pg_query.DropBehavior_DROP_CASCADE && isRoutine(n.DropStmt.RemoveType)
	}
	return false
}

func isRoutine(t pg_query.ObjectType) bool {
	switch t {
	case pg_query.ObjectType_OBJECT_FUNCTION, pg_query.ObjectType_OBJECT_PROCEDURE,
		pg_query.ObjectType_OBJECT_ROUTINE, pg_query.ObjectType_OBJECT_TRIGGER:
		return true
	}
	return false
}

func (l *linter) inspect(ctx context.Context) (*schema.Realm, error) {
	realm, err := l.dev.Driver.InspectRealm(ctx, nil)
	if err != nil {
		return nil, aboutDev(err)
	}
	return realm, nil
}

func (l *linter) replayFailed(f migrate.File, s *migrate.Stmt, err error) {
	l.result.Findings = append(l.result.Findings, finding{
		File:      f.Name(),
		Line:      lineAt(string(f.Bytes()), s.Pos),
		Pos:       s.Pos,
		Code:      replayCode,
		Analyzer:  "replay",
		Message:   fmt.Sprintf("the statement fails on the dev database: %s (SQLSTATE %s)", sentence(serverMessage(err)), sqlState(err)),
		Statement: firstLine(s.Text),
		Error:     l.levels["replay"],
	})
}

// analyze runs every analyzer on the file; diagnostics silenced by an
// atlas:nolint marker are dropped. The analyzers' own returned errors only
// repeat that they reported something, so they are not failures here.
func (l *linter) analyze(ctx context.Context, file *sqlcheck.File, stmts []*migrate.Stmt) {
	src := string(file.Bytes())
	markers := nolintMarkers(file.File, stmts)
	for _, az := range l.analyzers {
		name := ""
		if named, ok := az.(sqlcheck.NamedAnalyzer); ok {
			name = named.Name()
		}
		reporter := sqlcheck.ReportWriterFunc(func(r sqlcheck.Report) {
			for _, d := range r.Diagnostics {
				analyzer := analyzerOfCode[d.Code]
				if analyzer == "" {
					analyzer = name
				}
				if markers.silences(d.Pos, d.Code, analyzer) {
					continue
				}
				l.result.Findings = append(l.result.Findings, finding{
					File:      file.Name(),
					Line:      lineAt(src, d.Pos),
					Pos:       d.Pos,
					Code:      d.Code,
					Analyzer:  analyzer,
					Message:   d.Text,
					Statement: firstLine(statementAt(stmts, d.Pos)),
					Error:     l.levels[analyzer],
				})
			}
		})
		func() {
			// A crashing analyzer must not take the lint down with it.
			defer func() { _ = recover() }()
			_ = az.Analyze(ctx, &sqlcheck.Pass{File: file, Reporter: reporter})
		}()
	}
}

func statementAt(stmts []*migrate.Stmt, pos int) string {
	for _, s := range stmts {
		if s.Pos == pos {
			return s.Text
		}
	}
	return ""
}

// nolint holds the rules each statement (by position) is excused from.
type nolint struct {
	fileWide []string
	byPos    map[int][]string
}

// nolintMarkers reads `-- atlas:nolint RULE ... -- reason` markers: in the
// comment lines directly above a statement, or file-wide in the leading
// directive block (the comments followed by a blank line at the top). Rules
// are codes (DS103) or analyzer names (destructive); they stop at the `--`
// that starts the reason. A marker naming no rule excuses nothing: a blanket
// exception is not honoured.
func nolintMarkers(f migrate.File, stmts []*migrate.Stmt) *nolint {
	n := &nolint{byPos: map[int][]string{}}
	if lf, ok := f.(*migrate.LocalFile); ok {
		for _, d := range lf.Directive("nolint") {
			n.fileWide = append(n.fileWide, markerRules(d)...)
		}
	}
	for _, s := range stmts {
		for _, d := range s.Directive("nolint") {
			n.byPos[s.Pos] = append(n.byPos[s.Pos], markerRules(d)...)
		}
	}
	return n
}

// markerRules splits the text after `atlas:nolint` into rules, up to the
// reason's `--`.
func markerRules(text string) []string {
	if i := strings.Index(text, "--"); i >= 0 {
		text = text[:i]
	}
	return strings.Fields(strings.TrimSuffix(strings.TrimSpace(text), "*/"))
}

func (n *nolint) silences(pos int, code, analyzer string) bool {
	for _, rules := range [][]string{n.fileWide, n.byPos[pos]} {
		for _, r := range rules {
			if r == code || r == analyzer {
				return true
			}
		}
	}
	return false
}

// withRenames turns the drop+add pair that a diff sees for ALTER TABLE ...
// RENAME into a rename, as Atlas's parser-based fix did, so that the
// incompatible analyzer (BC101/BC102) sees renames and destructive does not
// report them as drops.
func withRenames(stmt string, changes schema.Changes) schema.Changes {
	tree, err := pg_query.Parse(stmt)
	if err != nil || len(tree.Stmts) != 1 {
		return changes
	}
	rename := tree.Stmts[0].Stmt.GetRenameStmt()
	if rename == nil {
		return changes
	}
	switch rename.RenameType {
	case pg_query.ObjectType_OBJECT_TABLE:
		return renameTable(changes, rename.GetRelation().GetRelname(), rename.Newname)
	case pg_query.ObjectType_OBJECT_COLUMN:
		return renameColumn(changes, rename.GetRelation().GetRelname(), rename.Subname, rename.Newname)
	}
	return changes
}

func renameTable(changes schema.Changes, from, to string) schema.Changes {
	drop, add := -1, -1
	for i, c := range changes {
		switch c := c.(type) {
		case *schema.DropTable:
			if c.T.Name == from {
				drop = i
			}
		case *schema.AddTable:
			if c.T.Name == to {
				add = i
			}
		}
	}
	if drop == -1 || add == -1 {
		return changes
	}
	renamed := &schema.RenameTable{From: changes[drop].(*schema.DropTable).T, To: changes[add].(*schema.AddTable).T}
	return replacePair(changes, drop, add, renamed)
}

func renameColumn(changes schema.Changes, table, from, to string) schema.Changes {
	for _, c := range changes {
		m, ok := c.(*schema.ModifyTable)
		if !ok || m.T.Name != table {
			continue
		}
		drop, add := -1, -1
		for i, mc := range m.Changes {
			switch mc := mc.(type) {
			case *schema.DropColumn:
				if mc.C.Name == from {
					drop = i
				}
			case *schema.AddColumn:
				if mc.C.Name == to {
					add = i
				}
			}
		}
		if drop != -1 && add != -1 {
			renamed := &schema.RenameColumn{From: m.Changes[drop].(*schema.DropColumn).C, To: m.Changes[add].(*schema.AddColumn).C}
			m.Changes = replacePair(m.Changes, drop, add, renamed)
		}
	}
	return changes
}

// replacePair puts c at the first of positions i and j and removes the other.
func replacePair(changes schema.Changes, i, j int, c schema.Change) schema.Changes {
	first, second := min(i, j), max(i, j)
	out := make(schema.Changes, 0, len(changes)-1)
	for k, ch := range changes {
		switch k {
		case first:
			out = append(out, c)
		case second:
		default:
			out = append(out, ch)
		}
	}
	return out
}

func (r *lintResult) human() string {
	var b strings.Builder
	fmt.Fprintf(&b, "linted: %s\n", strings.Join(r.Files, ", "))
	if len(r.Findings) == 0 {
		b.WriteString("no findings\n")
		return b.String()
	}
	for _, f := range r.Findings {
		level := "error"
		if !f.Error {
			level = "warning"
		}
		fmt.Fprintf(&b, "%s:%d: %s %s (%s): %s\n    %s\n", f.File, f.Line, level, f.Code, f.Analyzer, f.Message, f.Statement)
	}
	fmt.Fprintf(&b, "%d finding(s)\n", len(r.Findings))
	return b.String()
}
