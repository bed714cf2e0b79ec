package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSchemaApplyOnEmptyDatabaseThenIdempotent(t *testing.T) {
	t.Parallel()
	p := newProject(t, false)
	r := p.engine(t, "schema", "apply")
	wantCode(t, r, 0)
	var first applyResult
	r.json(t, &first)
	if !first.Applied || len(first.Changes) < 20 {
		t.Fatalf("want the whole schema applied, got %d changes (applied %v)", len(first.Changes), first.Applied)
	}
	if first.Changes[0].SQL != `CREATE SCHEMA "control_plane"` {
		t.Fatalf("the plan should start by creating the schema, got %q", first.Changes[0].SQL)
	}
	enums := countIn(t, "../schema.hcl", "\nenum \"")
	if n := queryInt(t, p.url, `SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'control_plane' AND t.typtype = 'e'`); n != enums {
		t.Fatalf("want the %d enums of schema.hcl inside control_plane, got %d", enums, n)
	}
	// The routines are not managed by the engine: a second apply must keep them.
	const routinesFile = "../migrations/20261127114820_updated_at_routines.sql"
	routines, err := os.ReadFile(routinesFile)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, p.url, string(routines))
	triggers := countIn(t, routinesFile, "CREATE OR REPLACE TRIGGER")
	r = p.engine(t, "schema", "apply")
	wantCode(t, r, 0)
	var second applyResult
	r.json(t, &second)
	if second.Applied || len(second.Changes) != 0 {
		t.Fatalf("a second apply should change nothing, got %+v", second.Changes)
	}
	if n := queryInt(t, p.url, `SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'update_%_updated_at'`); triggers == 0 || n != triggers {
		t.Fatalf("the %d triggers must survive a second apply, found %d", triggers, n)
	}
	wantCode(t, p.engine(t, "schema", "diff"), 0)
}

func TestSchemaApplyDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	p := newProject(t, false)
	r := p.engine(t, "schema", "apply", "--dry-run")
	wantCode(t, r, 0)
	var res applyResult
	r.json(t, &res)
	if res.Applied || len(res.Changes) == 0 {
		t.Fatalf("dry run should plan but not apply: %+v", res)
	}
	if n := queryInt(t, p.url, `SELECT count(*) FROM pg_namespace WHERE nspname = 'control_plane'`); n != 0 {
		t.Fatal("dry run created the schema")
	}
}

func TestSchemaDiffFindsDrift(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		alter string
		want  string
	}{
		"altered column":  {`ALTER TABLE control_plane.tenants ALTER COLUMN name TYPE varchar(100)`, `ALTER COLUMN "name" TYPE character varying(255)`},
		"dropped index":   {`DROP INDEX control_plane.idx_tenants_status`, `"idx_tenants_status"`},
		"removed comment": {`COMMENT ON TABLE control_plane.system_config IS NULL`, `COMMENT ON TABLE "control_plane"."system_config"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newProject(t, false)
			wantCode(t, p.engine(t, "schema", "apply"), 0)
			mustExec(t, p.url, c.alter)
			r := p.engine(t, "schema", "diff")
			wantCode(t, r, 3)
			var res diffResult
			r.json(t, &res)
			if res.InSync || len(res.Changes) != 1 || !strings.Contains(res.Changes[0].SQL, c.want) {
				t.Fatalf("want one change containing %q, got %+v", c.want, res.Changes)
			}
		})
	}
}

func TestSchemaApplyCreatesIndexConcurrentlyOutsideATransaction(t *testing.T) {
	t.Parallel()
	p := newProject(t, false)
	wantCode(t, p.engine(t, "schema", "apply"), 0)
	mustExec(t, p.url, `DROP INDEX control_plane.idx_tenants_status`)
	r := p.engine(t, "schema", "apply")
	wantCode(t, r, 0)
	var res applyResult
	r.json(t, &res)
	// PostgreSQL refuses CREATE INDEX CONCURRENTLY in a transaction: success
	// proves the plan ran statement by statement.
	if len(res.Changes) != 1 || !strings.Contains(res.Changes[0].SQL, "CREATE INDEX CONCURRENTLY") || !res.Applied {
		t.Fatalf("want one concurrent index build, got %+v", res)
	}
	if n := queryInt(t, p.url, `SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_tenants_status'`); n != 1 {
		t.Fatal("the index was not rebuilt")
	}
}

func TestSchemaApplyPlansAUniqueBlockAsAConstraint(t *testing.T) {
	t.Parallel()
	p := newProject(t, false)
	if countIn(t, "../schema.hcl", "unique \"tenants_name_key\" {") != 1 {
		t.Fatal("schema.hcl no longer declares the tenants_name_key unique block this test is about")
	}
	r := p.engine(t, "schema", "apply")
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, `CONSTRAINT \"tenants_name_key\" UNIQUE (\"name\")`) {
		t.Fatalf("want a UNIQUE constraint in the plan: %s", r.stdout)
	}
	if n := queryInt(t, p.url, `SELECT count(*) FROM pg_constraint WHERE conname = 'tenants_name_key' AND contype = 'u'`); n != 1 {
		t.Fatal("no unique constraint tenants_name_key")
	}
	wantCode(t, p.engine(t, "schema", "diff"), 0)
}

func TestSchemaSyntaxErrorNamesFileAndLine(t *testing.T) {
	t.Parallel()
	p := newProject(t, false)
	f, err := os.OpenFile(filepath.Join(p.dir, "schema.hcl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("\ntable \"broken\" {\n  column \"x\" {\n    type = \n  }\n}\n")
	_ = f.Close()
	r := p.engine(t, "schema", "apply")
	wantCode(t, r, 1)
	e := r.failure(t, reasonSchemaInvalid)
	if msg := e["message"].(string); !strings.HasPrefix(msg, "schema.hcl line ") {
		t.Fatalf("the sentence should name schema.hcl and a line: %q", msg)
	}
	if n := queryInt(t, p.url, `SELECT count(*) FROM pg_namespace WHERE nspname = 'control_plane'`); n != 0 {
		t.Fatal("something was written despite the error")
	}
}

func TestConnectionFailuresNameNoSecret(t *testing.T) {
	t.Parallel()
	p := newProject(t, false)
	refused := "postgres://postgres:hunter2secret@127.0.0.1:1/x?sslmode=disable"
	r := runEngine(t, p.dir, map[string]string{"DATABASE_URL": refused, "ATLAS_DEV_URL": p.devURL}, "", "schema", "apply", "--format", "json")
	wantCode(t, r, 1)
	e := r.failure(t, reasonServerUnreachable)
	leaks := strings.Contains(r.stdout+r.stderr, "hunter2secret") || strings.Contains(r.stdout+r.stderr, "127.0.0.1:1")
	if leaks {
		t.Fatal("the failure quotes the password or host:port of the connection string")
	}
	_ = e
	bad := urlFor(t, "x")
	badAuth := strings.Replace(bad, "postgres@", "no_such_role_engine:pw@", 1)
	r = runEngine(t, p.dir, map[string]string{"DATABASE_URL": badAuth, "ATLAS_DEV_URL": p.devURL}, "", "migrate", "status", "--format", "json")
	wantCode(t, r, 1)
	r.failure(t, reasonAuthFailed)
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	p := newProject(t, false)
	for _, args := range [][]string{
		{"schema", "apply", "--dry-rum"},
		{"schema", "aply"},
		{"migrate", "diff"},
		{"migrate", "diff", "Bad-Name"},
		{"migrate", "lint"},
		{"migrate", "apply", "--format", "yaml"},
	} {
		r := runEngine(t, p.dir, nil, "", append(args, "--format", "json")...)
		if args[len(args)-1] == "yaml" {
			r = runEngine(t, p.dir, nil, "", args...)
			wantCode(t, r, 2)
			continue
		}
		wantCode(t, r, 2)
		e := r.failure(t, reasonUsage)
		if msg := e["message"].(string); msg == "" || strings.Contains(msg, "\n") {
			t.Fatalf("%v: want one sentence, got %q", args, msg)
		}
	}
	r := runEngine(t, p.dir, nil, "", "schema", "apply", "--bogus")
	wantCode(t, r, 2)
	if r.stdout != "" || !strings.HasPrefix(r.stderr, "error: unknown flag --bogus") {
		t.Fatalf("human usage error should be one stderr line, got %q / %q", r.stdout, r.stderr)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := runEngine(t, t.TempDir(), nil, "", "version", "--format", "json")
	wantCode(t, r, 0)
	var v versionResult
	r.json(t, &v)
	if v.Atlas != "v1.2.3" || v.Engine == "" {
		t.Fatalf("unexpected version document %+v", v)
	}
}

func TestSchemaDiffHonoursDiffSkip(t *testing.T) {
	t.Parallel()
	p := newProject(t, false)
	wantCode(t, p.engine(t, "schema", "apply"), 0)
	mustExec(t, p.url, `CREATE TABLE control_plane.extra (id int)`, `CREATE SCHEMA neighbour`, `CREATE TABLE neighbour.t (id int)`)
	r := p.engine(t, "schema", "diff")
	wantCode(t, r, 3)
	if !strings.Contains(r.stdout, `DROP TABLE \"control_plane\".\"extra\"`) || strings.Contains(r.stdout, "neighbour") {
		t.Fatalf("want the extra table dropped and the other schema left alone: %s", r.stdout)
	}
	writeFile(t, filepath.Join(p.dir, "atlas.hcl"), strings.Replace(testAtlasHCL, "drop_schema = true", "drop_schema = true\n      drop_table  = true", 1))
	wantCode(t, p.engine(t, "schema", "diff"), 0)
}

// withoutDev runs the engine in the project with DATABASE_URL only: no dev database.
func (p *testProject) withoutDev(t *testing.T, args ...string) result {
	t.Helper()
	return runEngine(t, p.dir, map[string]string{"DATABASE_URL": p.url}, "", append(args, "--format", "json")...)
}

func TestSchemaApplyWithoutDevOnEmptyDatabase(t *testing.T) {
	t.Parallel()
	p := newProject(t, false)
	r := p.withoutDev(t, "schema", "apply")
	wantCode(t, r, 0)
	var res applyResult
	r.json(t, &res)
	if !res.Applied || len(res.Changes) < 20 || res.Changes[0].SQL != `CREATE SCHEMA "control_plane"` {
		t.Fatalf("want the whole schema applied without a dev database, got %d changes (applied %v)", len(res.Changes), res.Applied)
	}
	// Normalised on a dev database, the desired state finds nothing to change:
	// what was planned without normalising is the same schema.
	wantCode(t, p.engine(t, "schema", "diff"), 0)
	if n := queryInt(t, p.url, `SELECT count(*) FROM pg_constraint WHERE conname = 'tenants_name_key' AND contype = 'u'`); n != 1 {
		t.Fatal("no unique constraint tenants_name_key")
	}
}

func TestSchemaApplyWithoutDevNeedsOneForAManagedDatabase(t *testing.T) {
	t.Parallel()
	p := newProject(t, false)
	wantCode(t, p.engine(t, "schema", "apply"), 0)
	mustExec(t, p.url, `DROP INDEX control_plane.idx_tenants_status`)
	r := p.withoutDev(t, "schema", "apply")
	wantCode(t, r, 1)
	e := r.failure(t, reasonDevDatabaseNeeded)
	if msg := e["message"].(string); !strings.Contains(msg, "schema control_plane") || !strings.Contains(msg, "ATLAS_DEV_URL") {
		t.Fatalf("the sentence should name the schema and the setting: %q", msg)
	}
	if n := queryInt(t, p.url, `SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_tenants_status'`); n != 0 {
		t.Fatal("something was planned and applied without a dev database")
	}
	// An empty schema of the same name counts too: only a target without it is planned without a dev database.
	q := newProject(t, false)
	mustExec(t, q.url, `CREATE SCHEMA control_plane`)
	wantCode(t, q.withoutDev(t, "schema", "apply"), 1)
	// schema diff always compares, so it always needs the dev database.
	wantCode(t, q.withoutDev(t, "schema", "diff"), 1)
}

func TestSchemaApplyWithoutDevWritesNothingWhenTheSchemaDoesNotBuild(t *testing.T) {
	t.Parallel()
	p := newProject(t, false)
	path := filepath.Join(p.dir, "schema.hcl")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `sql("gen_random_uuid()")`) {
		t.Fatal("schema.hcl no longer has the default this test breaks")
	}
	writeFile(t, path, strings.Replace(string(b), `sql("gen_random_uuid()")`, `sql("no_such_function_cp()")`, 1))
	r := p.withoutDev(t, "schema", "apply")
	wantCode(t, r, 1)
	e := r.failure(t, reasonMigrationFailed)
	if msg := e["message"].(string); !strings.Contains(msg, "no_such_function_cp") || strings.Contains(msg, "\n") {
		t.Fatalf("one sentence naming what failed: %q", msg)
	}
	if n := queryInt(t, p.url, `SELECT count(*) FROM pg_namespace WHERE nspname = 'control_plane'`); n != 0 {
		t.Fatal("a plan that failed part-way left the schema behind")
	}
}
