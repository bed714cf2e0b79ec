package main

import (
	"strings"
	"testing"
)

// lintFindings lints the latest file of p and returns its findings by code.
func lintFindings(t *testing.T, p *testProject, args ...string) (result, map[string][]finding) {
	t.Helper()
	r := p.engine(t, append([]string{"migrate", "lint"}, args...)...)
	var res lintResult
	r.json(t, &res)
	byCode := map[string][]finding{}
	for _, f := range res.Findings {
		byCode[f.Code] = append(byCode[f.Code], f)
	}
	return r, byCode
}

func TestLintCleanFileHasNoFindings(t *testing.T) {
	t.Parallel()
	p := newProject(t, true)
	r, found := lintFindings(t, p, "--latest", "2")
	wantCode(t, r, 0)
	if len(found) != 0 {
		t.Fatalf("the project's own migrations should lint clean: %s", r.stdout)
	}
}

func TestLintReportsEachAnalyzer(t *testing.T) {
	t.Parallel()
	p := newProject(t, true)
	p.addMigration(t, laterVersion+"_unsafe.sql", strings.Join([]string{
		`CREATE INDEX "idx_x" ON "control_plane"."tenants" ("created_at");`,
		`DROP INDEX "control_plane"."idx_tenants_status";`,
		`CREATE INDEX CONCURRENTLY "idx_y" ON "control_plane"."tenants" ("updated_at");`,
		`ALTER TABLE "control_plane"."tenant_databases" DROP COLUMN "host";`,
		`ALTER TABLE "control_plane"."tenant_databases" RENAME COLUMN "port" TO "db_port";`,
		`-- atlas:nolint DS102 -- the table is recreated from the archive by the next file`,
		`DROP TABLE "control_plane"."system_config";`,
		`CREATE TABLE "control_plane"."scratch" (id int);`,
		`DROP TABLE "control_plane"."scratch";`,
		`CREATE TABLE "control_plane"."kept" (id int);`,
		`ALTER TABLE "control_plane"."tenant_databases" ADD COLUMN "zone" text NOT NULL;`,
		`-- atlas:nolint`,
		`ALTER TABLE "control_plane"."tenant_databases" DROP COLUMN "status";`,
		`ALTER TABLE "control_plane"."tenants" ADD COLUMN "tier" text NOT NULL;`,
		`CREATE TABLE "control_plane"."never_reached" (id int);`,
	}, "\n")+"\n")
	// A table that exists before the file, to be dropped without a marker.
	r, found := lintFindings(t, p, "--file", laterVersion+"_unsafe.sql")
	wantCode(t, r, 3)
	want := map[string]int{"PG101": 1, "PG102": 1, "PG103": 1, "DS103": 2, "BC102": 1, "MF103": 1, "RP101": 1}
	for code, n := range want {
		if len(found[code]) != n {
			t.Errorf("want %d %s, got %d: %s", n, code, len(found[code]), r.stdout)
		}
	}
	if len(found["DS102"]) != 0 {
		t.Errorf("the DS102 marker with a reason should silence the drop of system_config, and a table created in the file is no finding: %v", found["DS102"])
	}
	if f := found["PG101"]; len(f) == 1 && (f[0].Line != 1 || f[0].Analyzer != "concurrent_index" || !f[0].Error || !strings.HasPrefix(f[0].Statement, "CREATE INDEX \"idx_x\"")) {
		t.Errorf("PG101 should point at line 1 and its statement: %+v", f[0])
	}
	if f := found["RP101"]; len(f) == 1 && (f[0].Line != 14 || !strings.Contains(f[0].Message, "23502")) {
		t.Errorf("RP101 should point at the ADD COLUMN on tenants (which has a row) with its SQLSTATE: %+v", f[0])
	}
	if f := found["MF103"]; len(f) == 1 && !strings.Contains(f[0].Message, `"zone"`) {
		t.Errorf("MF103 should be about zone: %+v", f[0])
	}
}

func TestLintDropTableWithoutMarkerAndFileWideMarker(t *testing.T) {
	t.Parallel()
	p := newProject(t, true)
	p.addMigration(t, laterVersion+"_drop.sql", "DROP TABLE \"control_plane\".\"system_config\";\n")
	r, found := lintFindings(t, p, "--latest", "1")
	wantCode(t, r, 3)
	if len(found["DS102"]) != 1 {
		t.Fatalf("want DS102 for an unexcused DROP TABLE: %s", r.stdout)
	}
	q := newProject(t, true)
	q.addMigration(t, laterVersion+"_drop.sql", "-- atlas:nolint destructive -- the data moved to the archive schema in 20261130\n\n"+
		"DROP TABLE \"control_plane\".\"system_config\";\nALTER TABLE \"control_plane\".\"tenant_databases\" DROP COLUMN \"host\";\n")
	r, found = lintFindings(t, q, "--latest", "1")
	wantCode(t, r, 0)
	if len(found) != 0 {
		t.Fatalf("a file-wide marker naming the analyzer should excuse its findings: %s", r.stdout)
	}
}

func TestLintRespectsErrorFalse(t *testing.T) {
	t.Parallel()
	p := newProject(t, true)
	writeFile(t, p.dir+"/atlas.hcl", strings.Replace(testAtlasHCL, "destructive {\n      error = true", "destructive {\n      error = false", 1))
	p.addMigration(t, laterVersion+"_drop.sql", "ALTER TABLE \"control_plane\".\"tenant_databases\" DROP COLUMN \"host\";\n")
	r, found := lintFindings(t, p, "--latest", "1")
	wantCode(t, r, 0)
	if len(found["DS103"]) != 1 || found["DS103"][0].Error {
		t.Fatalf("with error = false the finding is listed but not an error: %s", r.stdout)
	}
}

func TestLintTxmodeNoneFileWithConcurrentIndexIsClean(t *testing.T) {
	t.Parallel()
	p := newProject(t, true)
	p.addMigration(t, laterVersion+"_index.sql", "-- atlas:txmode none\n\n"+
		"CREATE INDEX CONCURRENTLY \"idx_c\" ON \"control_plane\".\"tenants\" (\"created_at\");\n"+
		"DROP INDEX CONCURRENTLY \"control_plane\".\"idx_c\";\n")
	r, found := lintFindings(t, p, "--latest", "1")
	wantCode(t, r, 0)
	if len(found) != 0 {
		t.Fatalf("concurrent index changes outside a transaction are safe: %s", r.stdout)
	}
}

func TestOutsideRealm(t *testing.T) {
	t.Parallel()
	for stmt, want := range map[string]bool{
		`CREATE OR REPLACE FUNCTION "control_plane"."f"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;`:            true,
		`CREATE OR REPLACE TRIGGER "t" AFTER INSERT ON "control_plane"."tenants" FOR EACH ROW EXECUTE FUNCTION "control_plane"."f"();`: true,
		`COMMENT ON FUNCTION "control_plane"."f"() IS 'why';`:                                                                          true,
		`COMMENT ON TRIGGER "t" ON "control_plane"."tenants" IS 'why';`:                                                                true,
		`DROP TRIGGER IF EXISTS "t" ON "control_plane"."tenants";`:                                                                     true,
		`DROP FUNCTION IF EXISTS "control_plane"."f"();`:                                                                               true,
		`SET lock_timeout = '5s';`:                     true,
		`DROP FUNCTION "control_plane"."f"() CASCADE;`: false,
		`CREATE CONSTRAINT TRIGGER "c" AFTER INSERT ON "control_plane"."tenants" FOR EACH ROW EXECUTE FUNCTION "control_plane"."f"();`: false,
		`COMMENT ON TABLE "control_plane"."tenants" IS 'why';`:                                                                         false,
		`COMMENT ON COLUMN "control_plane"."tenants"."name" IS 'why';`:                                                                 false,
		`DROP TABLE "control_plane"."tenants";`:                                                                                        false,
		`ALTER TABLE "control_plane"."tenants" ADD COLUMN "note" text;`:                                                                false,
		`DO $$ BEGIN CREATE TABLE "control_plane"."x" (id int); END $$;`:                                                               false,
		`SELECT "control_plane"."f"();`:                                                                                                false,
		`INSERT INTO "control_plane"."tenants" (name) VALUES ('a');`:                                                                   false,
		`not sql`: false,
	} {
		if got := outsideRealm(stmt); got != want {
			t.Errorf("outsideRealm(%s) = %v, want %v", stmt, got, want)
		}
	}
}

// Statements lint does not inspect after (functions, triggers, their
// comments) change nothing it compares, so the findings of the statements
// around them are the same: here DS103 on line 5, after four of them.
func TestLintFindingsAroundRoutineStatements(t *testing.T) {
	t.Parallel()
	p := newProject(t, true)
	p.addMigration(t, laterVersion+"_routines.sql", strings.Join([]string{
		`CREATE FUNCTION "control_plane"."note"() RETURNS text LANGUAGE sql AS $$ SELECT 'n' $$;`,
		`COMMENT ON FUNCTION "control_plane"."note"() IS 'a default for tenants.note';`,
		`ALTER TABLE "control_plane"."tenants" ADD COLUMN "note" text DEFAULT "control_plane"."note"();`,
		`CREATE TRIGGER "t" BEFORE UPDATE ON "control_plane"."tenants" FOR EACH ROW EXECUTE FUNCTION "control_plane"."update_updated_at_column"();`,
		`ALTER TABLE "control_plane"."tenant_databases" DROP COLUMN "host";`,
	}, "\n")+"\n")
	r, found := lintFindings(t, p, "--latest", "1")
	wantCode(t, r, 3)
	if len(found) != 1 || len(found["DS103"]) != 1 || found["DS103"][0].Line != 5 {
		t.Fatalf("want exactly DS103 on line 5: %s", r.stdout)
	}
}
