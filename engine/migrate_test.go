package main

import (
	"context"
	"database/sql"
	"hash/fnv"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestMigrateApplyOnEmptyDatabaseThenStatus(t *testing.T) {
	t.Parallel()
	p := newProject(t, true)
	versions := projectVersions(t)
	first, latest := versions[0], versions[len(versions)-1]
	r := p.engine(t, "migrate", "status")
	wantCode(t, r, 0)
	var before migrateStatusResult
	r.json(t, &before)
	if before.Current != "" || strings.Join(before.Pending, " ") != strings.Join(versions, " ") || before.Next != first {
		t.Fatalf("status of an empty database: %+v", before)
	}
	if n := queryInt(t, p.url, `SELECT count(*) FROM pg_namespace WHERE nspname = 'atlas_schema_revisions'`); n != 0 {
		t.Fatal("migrate status created the revision schema")
	}
	r = p.engine(t, "migrate", "apply")
	wantCode(t, r, 0)
	var applied migrateApplyResult
	r.json(t, &applied)
	if len(applied.Applied) != len(versions) || applied.Current != latest || applied.Pending != 0 {
		t.Fatalf("want the %d files applied: %+v", len(versions), applied)
	}
	if applied.Applied[1].Statements < 20 {
		t.Fatalf("create_control_plane has a statement per table, index and type, reported %d", applied.Applied[1].Statements)
	}
	r = p.engine(t, "migrate", "status")
	var after migrateStatusResult
	r.json(t, &after)
	if after.Current != latest || len(after.Pending) != 0 || after.Applied != len(versions) || after.Partial != nil {
		t.Fatalf("status after apply: %+v", after)
	}
	r = p.engine(t, "migrate", "apply")
	var again migrateApplyResult
	r.json(t, &again)
	if len(again.Applied) != 0 || again.Current != latest {
		t.Fatalf("a second apply should apply nothing: %+v", again)
	}
	// Both paths give the same tables: the declarative diff sees no drift.
	wantCode(t, p.engine(t, "schema", "diff"), 0)
}

// The revision table matches the CLI's column for column.
func TestRevisionTableShape(t *testing.T) {
	t.Parallel()
	p := newProject(t, true)
	wantCode(t, p.engine(t, "migrate", "apply"), 0)
	rows, err := openDB(t, p.url).Query(`SELECT column_name, data_type, is_nullable, coalesce(column_default, '')
		FROM information_schema.columns WHERE table_schema = 'atlas_schema_revisions' AND table_name = 'atlas_schema_revisions' ORDER BY ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var name, typ, null, def string
		if err := rows.Scan(&name, &typ, &null, &def); err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Join([]string{name, typ, null, def}, " "))
	}
	want := []string{
		"version character varying NO ", "description character varying NO ", "type bigint NO 2", "applied bigint NO 0",
		"total bigint NO 0", "executed_at timestamp with time zone NO ", "execution_time bigint NO ", "error text YES ",
		"error_stmt text YES ", "hash character varying NO ", "partial_hashes jsonb YES ", "operator_version character varying NO ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("revision table columns:\n%s", strings.Join(got, "\n"))
	}
	if n := queryInt(t, p.url, `SELECT count(*) FROM pg_constraint WHERE conname = 'atlas_schema_revisions_pkey' AND contype = 'p'`); n != 1 {
		t.Fatal("no primary key atlas_schema_revisions_pkey")
	}
}

func TestMigrateApplyResumesAPartialTxmodeNoneFile(t *testing.T) {
	t.Parallel()
	p := newProject(t, false)
	p.addMigration(t, "20260101000000_first.sql", "CREATE TABLE first_t (id int);\n")
	p.addMigration(t, "20260102000000_second.sql", "-- atlas:txmode none\n\n"+
		"CREATE TABLE a_t (id int);\n"+
		"INSERT INTO needed_t VALUES (1);\n"+
		"CREATE TABLE b_t (id int);\n")
	r := p.engine(t, "migrate", "apply")
	wantCode(t, r, 1)
	e := r.failure(t, reasonMigrationFailed)
	if e["file"] != "20260102000000_second.sql" || e["statementIndex"] != float64(2) || e["sqlstate"] != "42P01" || e["version"] != "20260102000000" {
		t.Fatalf("failure fields: %+v", e)
	}
	if msg := e["message"].(string); !strings.Contains(msg, "20260102000000_second.sql statement 2 of 3") {
		t.Fatalf("the sentence should name file and statement: %q", msg)
	}
	r = p.engine(t, "migrate", "status")
	var st migrateStatusResult
	r.json(t, &st)
	if st.Partial == nil || st.Partial.Applied != 1 || st.Partial.Total != 3 || st.Partial.Version != "20260102000000" || st.Current != "20260101000000" {
		t.Fatalf("status should show 1 of 3 applied: %+v", st)
	}
	if n := queryInt(t, p.url, `SELECT count(*) FROM atlas_schema_revisions.atlas_schema_revisions WHERE version = '20260102000000' AND error_stmt LIKE 'INSERT INTO needed_t%' AND error <> ''`); n != 1 {
		t.Fatal("the partial revision should record error and error_stmt")
	}
	// Fix the cause outside the file; a re-run must start at statement 2
	// (statement 1 again would fail: a_t exists).
	mustExec(t, p.url, `CREATE TABLE needed_t (id int)`)
	r = p.engine(t, "migrate", "apply")
	wantCode(t, r, 0)
	var res migrateApplyResult
	r.json(t, &res)
	if len(res.Applied) != 1 || res.Applied[0].Statements != 2 || res.Current != "20260102000000" {
		t.Fatalf("want the file resumed with its 2 remaining statements: %+v", res)
	}
	if n := queryInt(t, p.url, `SELECT count(*) FROM atlas_schema_revisions.atlas_schema_revisions WHERE version = '20260102000000' AND applied = 3 AND total = 3 AND error = ''`); n != 1 {
		t.Fatal("the revision should now be complete and without error")
	}
}

func TestFailedTransactionalFileLeavesNoTrace(t *testing.T) {
	t.Parallel()
	p := newProject(t, false)
	p.addMigration(t, "20260101000000_broken.sql", "CREATE TABLE kept_t (id int);\nINSERT INTO missing_t VALUES (1);\n")
	r := p.engine(t, "migrate", "apply")
	wantCode(t, r, 1)
	r.failure(t, reasonMigrationFailed)
	if n := queryInt(t, p.url, `SELECT count(*) FROM pg_tables WHERE tablename = 'kept_t'`); n != 0 {
		t.Fatal("the failed file was not rolled back")
	}
	if n := queryInt(t, p.url, `SELECT count(*) FROM atlas_schema_revisions.atlas_schema_revisions`); n != 0 {
		t.Fatal("a failed transactional file must leave no revision row, as with the CLI")
	}
}

func TestMigrateApplyRefusesAChecksumMismatch(t *testing.T) {
	t.Parallel()
	p := newProject(t, true)
	path := filepath.Join(p.dir, "migrations", "20261127114824_seed_system_admin.sql")
	b, _ := os.ReadFile(path)
	writeFile(t, path, string(b)+"\n-- edited after review\n")
	r := p.engine(t, "migrate", "apply")
	wantCode(t, r, 1)
	e := r.failure(t, reasonChecksumMismatch)
	if e["file"] != "20261127114824_seed_system_admin.sql" || !strings.Contains(e["message"].(string), "20261127114824_seed_system_admin.sql") {
		t.Fatalf("the failure should name the edited file: %+v", e)
	}
	if n := queryInt(t, p.url, `SELECT count(*) FROM pg_namespace WHERE nspname IN ('atlas_schema_revisions', 'control_plane')`); n != 0 {
		t.Fatal("something was written despite the checksum mismatch")
	}
	wantCode(t, p.engine(t, "migrate", "validate"), 1)
}

func TestMigrateApplyGivesUpWhenAnotherHoldsTheLock(t *testing.T) {
	t.Parallel()
	p := newProject(t, true)
	// The key Atlas derives from the lock name: FNV-32 of atlas_migrate_execute.
	h := fnv.New32()
	h.Write([]byte(applyLockName))
	conn, err := openDB(t, p.url).Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_lock($1)`, int64(h.Sum32())); err != nil {
		t.Fatal(err)
	}
	r := p.engine(t, "migrate", "apply")
	wantCode(t, r, 1)
	r.failure(t, reasonLockTimeout)
	if n := queryInt(t, p.url, `SELECT count(*) FROM pg_namespace WHERE nspname = 'control_plane'`); n != 0 {
		t.Fatal("applied despite the lock")
	}
}

func TestMigrateApplyRefusesADatabaseWithObjectsButNoHistory(t *testing.T) {
	t.Parallel()
	p := newProject(t, true)
	wantCode(t, p.engine(t, "schema", "apply"), 0)
	r := p.engine(t, "migrate", "apply")
	wantCode(t, r, 1)
	r.failure(t, reasonDirtyDatabase)
}

func TestMigrateApplyRefusesARevisionNewerThanTheDirectory(t *testing.T) {
	t.Parallel()
	p := newProject(t, true)
	wantCode(t, p.engine(t, "migrate", "apply"), 0)
	mustExec(t, p.url, `INSERT INTO atlas_schema_revisions.atlas_schema_revisions (version, description, type, applied, total, executed_at, execution_time, hash, operator_version)
		VALUES ('29990101000000', 'future', 2, 1, 1, now(), 0, 'x', 'test')`)
	r := p.engine(t, "migrate", "apply")
	wantCode(t, r, 1)
	e := r.failure(t, reasonDirtyDatabase)
	if e["version"] != "29990101000000" {
		t.Fatalf("should name the revision: %+v", e)
	}
}

var fileLine = regexp.MustCompile(`^-- [A-Z]`)

func TestMigrateDiffWritesAtlasFormatAndPlansNothingAfterwards(t *testing.T) {
	t.Parallel()
	p := newProject(t, true)
	r := p.engine(t, "migrate", "diff", "nothing_new")
	wantCode(t, r, 0)
	var none writtenResult
	r.json(t, &none)
	if len(none.Written) != 0 {
		t.Fatalf("the directory matches schema.hcl, yet a file was written: %+v", none)
	}
	schemaPath := filepath.Join(p.dir, "schema.hcl")
	b, _ := os.ReadFile(schemaPath)
	anchor := `  index "idx_tenants_status" {`
	writeFile(t, schemaPath, strings.Replace(string(b), anchor, "  column \"region\" {\n    null = true\n    type = text\n  }\n\n  index \"idx_tenants_region\" {\n    columns = [column.region]\n  }\n\n"+anchor, 1))
	r = p.engine(t, "migrate", "diff", "add_region")
	wantCode(t, r, 0)
	var res writtenResult
	r.json(t, &res)
	if len(res.Written) != 1 || res.Written[0] != res.Version+"_add_region.sql" || len(res.Version) != 14 {
		t.Fatalf("want one file named after the version: %+v", res)
	}
	content, err := os.ReadFile(filepath.Join(p.dir, "migrations", res.Written[0]))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(content), "\n"), "\n")
	if lines[0] != "-- atlas:txmode none" || lines[1] != "" {
		t.Fatalf("a CONCURRENTLY plan must start with the txmode directive and a blank line:\n%s", content)
	}
	for i := 2; i < len(lines); i += 2 {
		if !fileLine.MatchString(lines[i]) || !strings.HasSuffix(lines[i+1], ";") {
			t.Fatalf("want a -- Comment line above each statement:\n%s", content)
		}
	}
	if !strings.Contains(string(content), `CREATE INDEX CONCURRENTLY "idx_tenants_region"`) {
		t.Fatalf("the index on an existing table should be built concurrently:\n%s", content)
	}
	wantCode(t, p.engine(t, "migrate", "validate"), 0)
	r = p.engine(t, "migrate", "diff", "again")
	r.json(t, &none)
	if len(none.Written) != 0 {
		t.Fatalf("after the new file, the diff should plan nothing: %+v", none)
	}
	// The new file applies, CONCURRENTLY outside a transaction.
	wantCode(t, p.engine(t, "migrate", "apply"), 0)
	wantCode(t, p.engine(t, "schema", "diff"), 0)
}

func TestMigrateNewBumpsAVersionThatIsNotInThePast(t *testing.T) {
	t.Parallel()
	p := newProject(t, false)
	p.addMigration(t, "29991231235959_future.sql", "SELECT 1;\n")
	r := p.engine(t, "migrate", "new", "next_one")
	wantCode(t, r, 0)
	var res writtenResult
	r.json(t, &res)
	if res.Version != "29991231235960" || res.Written[0] != "29991231235960_next_one.sql" {
		t.Fatalf("want the newest version plus one: %+v", res)
	}
	wantCode(t, p.engine(t, "migrate", "validate"), 0)
}

func TestMigrateApplyWithoutPrivilegesIsPermissionDenied(t *testing.T) {
	t.Parallel()
	p := newProject(t, true)
	// Roles belong to the whole server: the name is as unique as a database's.
	role := "engine_limited_" + strings.TrimPrefix(mustParse(t, p.url).Path, "/engine_db_")
	mustExec(t, adminURL(), `CREATE ROLE "`+role+`" LOGIN`)
	t.Cleanup(func() {
		db, err := sql.Open("postgres", adminURL())
		if err == nil {
			_, _ = db.Exec(`DROP ROLE IF EXISTS "` + role + `"`)
			_ = db.Close()
		}
	})
	// The database stays owned by the admin role; on PostgreSQL 15+ a plain
	// role may not create schemas in it.
	mustExec(t, p.url, `REVOKE CREATE ON DATABASE "`+strings.TrimPrefix(mustParse(t, p.url).Path, "/")+`" FROM PUBLIC`)
	u := mustParse(t, p.url)
	u.User = url.User(role)
	r := runEngine(t, p.dir, map[string]string{"DATABASE_URL": u.String(), "ATLAS_DEV_URL": p.devURL}, "", "migrate", "apply", "--format", "json")
	wantCode(t, r, 1)
	e := r.failure(t, reasonPermissionDenied)
	if e["sqlstate"] != "42501" {
		t.Fatalf("want SQLSTATE 42501: %+v", e)
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
