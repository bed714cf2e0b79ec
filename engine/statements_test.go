package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const trickySQL = `-- atlas:txmode none

/* a block comment; with /* a nested one; */ still comment */
CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $body$
BEGIN
  RETURN 'a;b' || $$;$$; -- semicolons inside dollar quotes
END;
$body$;
SELECT E'it\'s; fine', 'it''s; fine' FROM "weird;name";
-- atlas:nolint PG101 -- reviewed
CREATE INDEX CONCURRENTLY idx ON app.t (c);
DROP INDEX CONCURRENTLY app.idx;
CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;
VACUUM app.t;
COMMENT ON COLUMN app.t.c IS 'x';
ALTER TABLE app.t ADD COLUMN d int`

func TestSQLStatementsSplitsAndClassifies(t *testing.T) {
	t.Parallel()
	r := runEngine(t, t.TempDir(), nil, trickySQL, "sql", "statements", "-", "--format", "json")
	wantCode(t, r, 0)
	var res statementsResult
	r.json(t, &res)
	if len(res.Files) != 1 || res.Files[0].File != "-" {
		t.Fatalf("one file expected: %s", r.stdout)
	}
	stmts := res.Files[0].Statements
	kinds := make([]string, len(stmts))
	for i, s := range stmts {
		kinds[i] = s.Kind
	}
	want := "CreateFunctionStmt SelectStmt IndexStmt DropStmt CreateFunctionStmt VacuumStmt CommentStmt AlterTableStmt"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("kinds:\n got %s\nwant %s", strings.Join(kinds, " "), want)
	}
	fn := stmts[0]
	if fn.Line != 4 || fn.EndLine != 8 || !strings.HasPrefix(fn.Text, "CREATE FUNCTION f()") || !strings.HasSuffix(fn.Text, "$body$;") {
		t.Fatalf("dollar-quoted function: %+v", fn)
	}
	if fn.Pos != strings.Index(trickySQL, "CREATE FUNCTION f()") {
		t.Fatalf("pos should be the byte offset of the statement: %d", fn.Pos)
	}
	if s := stmts[1]; !strings.HasSuffix(s.Text, `FROM "weird;name";`) || strings.Join(s.Tables, ",") != "weird;name" {
		t.Fatalf("quoted strings and identifiers with semicolons: %+v", s)
	}
	if s := stmts[2]; !s.Concurrently || s.Transactional || s.Line != 11 || strings.Join(s.Tables, ",") != "app.t" {
		t.Fatalf("CREATE INDEX CONCURRENTLY: %+v", s)
	}
	if s := stmts[3]; !s.Concurrently || s.Transactional {
		t.Fatalf("DROP INDEX CONCURRENTLY: %+v", s)
	}
	if s := stmts[4]; !strings.HasSuffix(s.Text, "SELECT 2; END;") {
		t.Fatalf("BEGIN ATOMIC body is one statement: %q", s.Text)
	}
	if s := stmts[5]; s.Transactional {
		t.Fatalf("VACUUM cannot run in a transaction: %+v", s)
	}
	if s := stmts[6]; strings.Join(s.Tables, ",") != "app.t" || !s.Transactional {
		t.Fatalf("COMMENT ON COLUMN names its table: %+v", s)
	}
	if s := stmts[7]; s.Text != "ALTER TABLE app.t ADD COLUMN d int" || s.Line != 16 {
		t.Fatalf("last statement without a semicolon: %+v", s)
	}
}

func TestSQLStatementsKeepsGoingPastASyntaxError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "broken.sql")
	if err := os.WriteFile(path, []byte("CREATE TABLE a (id int);\nCREATE TABLEX b;\nDROP TABLE a;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runEngine(t, dir, nil, "", "sql", "statements", path, "--format", "json")
	wantCode(t, r, 0)
	var res statementsResult
	r.json(t, &res)
	stmts := res.Files[0].Statements
	if len(stmts) != 3 || stmts[1].Kind != "" || stmts[1].Error == "" || stmts[2].Kind != "DropStmt" || strings.Join(stmts[2].Tables, ",") != "a" {
		t.Fatalf("want three statements, the second marked invalid: %s", r.stdout)
	}
}

func TestLineIndexAgreesWithLineAt(t *testing.T) {
	for _, src := range []string{"", "no newline", "\n", "a\nb\n\nc", trickySQL} {
		lines := newLineIndex(src)
		for offset := 0; offset <= len(src)+1; offset++ {
			if got, want := lines.at(offset), lineAt(src, offset); got != want {
				t.Fatalf("line of offset %d in %q: %d, lineAt says %d", offset, src, got, want)
			}
		}
	}
}

// Statements found in one walk over the tokens are the ones a walk per
// statement found: the same texts, lines and positions, for many statements
// with comments between them.
func TestSplitStatementsManyStatements(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 500; i++ {
		b.WriteString("-- a comment; with a semicolon\nSELECT 1; /* and; another */ SELECT 'x;y';\n")
	}
	stmts, err := splitStatements(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(stmts) != 1000 {
		t.Fatalf("%d statements, want 1000", len(stmts))
	}
	for i, s := range stmts {
		wantText, wantLine := "SELECT 1;", 2*(i/2)+2
		if i%2 == 1 {
			wantText = "SELECT 'x;y';"
		}
		if s.Text != wantText || s.Line != wantLine || s.EndLine != wantLine || b.String()[s.Pos:s.Pos+len(s.Text)] != s.Text {
			t.Fatalf("statement %d: %q at line %d-%d, pos %d; want %q at line %d", i+1, s.Text, s.Line, s.EndLine, s.Pos, wantText, wantLine)
		}
	}
}
