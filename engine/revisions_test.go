package main

import "testing"

// A file applied in a transaction writes its revision row once (the
// executor's writes per statement stay in memory until the commit), and the
// row is the one the CLI's writes would have left.
func TestTransactionalFileWritesItsRevisionOnce(t *testing.T) {
	t.Parallel()
	p := newProject(t, false)
	p.addMigration(t, "20260101000000_three.sql", "CREATE TABLE one_t (id int);\nCREATE INDEX one_t_id ON one_t (id);\nINSERT INTO one_t VALUES (1);\n")
	wantCode(t, p.engine(t, "migrate", "apply"), 0)
	// A fresh table: one insert leaves the row at (0,1); an insert and four updates would leave it at (0,5).
	if n := queryInt(t, p.url, `SELECT count(*) FROM atlas_schema_revisions.atlas_schema_revisions
		WHERE version = '20260101000000' AND ctid = '(0,1)' AND applied = 3 AND total = 3 AND type = 2
		AND coalesce(error, '') = '' AND coalesce(error_stmt, '') = '' AND partial_hashes = 'null'::jsonb
		AND description = 'three' AND hash <> '' AND executed_at <= now() AND execution_time >= 0`); n != 1 {
		t.Fatal("want one complete revision row, written once")
	}
}
