package main

import (
	"context"
	"fmt"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlcheck"
)

// concurrentIndexAnalyzer reports index builds and drops that lock a table
// against writes, with the codes and meanings of Atlas's own analyzer of the
// same name (sql/postgres/postgrescheck up to v0.13, removed from the
// open-source build since):
//
//	PG101 CREATE INDEX without CONCURRENTLY on a table that existed before the file
//	PG102 DROP INDEX without CONCURRENTLY on such a table
//	PG103 CONCURRENTLY in a file that runs in a transaction (no `-- atlas:txmode none`)
//
// Whether a statement says CONCURRENTLY is read with PostgreSQL's parser;
// which index and table it touches comes from the schema change the
// statement made on the dev database. Unlike Atlas, which reports PG103 once
// at the top of the file, each offending statement gets its own PG103, so
// that a marker above it can excuse it.
type concurrentIndexAnalyzer struct{}

func (concurrentIndexAnalyzer) Name() string { return "concurrent_index" }

func (concurrentIndexAnalyzer) Analyze(_ context.Context, p *sqlcheck.Pass) error {
	inTransaction := !fileRunsWithoutTransaction(p.File.File)
	var diags []sqlcheck.Diagnostic
	for _, sc := range p.File.Changes {
		info := mustClassify(sc.Stmt.Text)
		if info.Concurrently && inTransaction {
			diags = append(diags, sqlcheck.Diagnostic{
				Pos:  sc.Stmt.Pos,
				Code: "PG103",
				Text: "CONCURRENTLY cannot run inside a transaction: add the `-- atlas:txmode none` directive (and a blank line) at the top of the file",
			})
		}
		for _, c := range sc.Changes {
			m, ok := c.(*schema.ModifyTable)
			if !ok || p.File.TableSpan(m.T)&sqlcheck.SpanAdded != 0 || info.Concurrently {
				continue
			}
			diags = append(diags, nonConcurrentIndexChanges(sc, m, info.Kind)...)
		}
	}
	if len(diags) > 0 {
		p.Reporter.WriteReport(sqlcheck.Report{Text: "concurrent index violations detected", Diagnostics: diags})
	}
	return nil
}

// nonConcurrentIndexChanges reports the indexes a CREATE INDEX or DROP INDEX
// statement built or dropped. Indexes that go with other statements (a
// dropped column's index, a UNIQUE constraint's) are not what PG101/PG102
// are about.
func nonConcurrentIndexChanges(sc *sqlcheck.Change, m *schema.ModifyTable, kind string) []sqlcheck.Diagnostic {
	var diags []sqlcheck.Diagnostic
	for _, mc := range m.Changes {
		switch mc := mc.(type) {
		case *schema.AddIndex:
			if kind != "IndexStmt" {
				continue
			}
			diags = append(diags, sqlcheck.Diagnostic{
				Pos:  sc.Stmt.Pos,
				Code: "PG101",
				Text: fmt.Sprintf("Creating index %q non-concurrently causes write locks on the %q table", mc.I.Name, m.T.Name),
			})
		case *schema.DropIndex:
			if kind != "DropStmt" {
				continue
			}
			diags = append(diags, sqlcheck.Diagnostic{
				Pos:  sc.Stmt.Pos,
				Code: "PG102",
				Text: fmt.Sprintf("Dropping index %q non-concurrently causes write locks on the %q table", mc.I.Name, m.T.Name),
			})
		}
	}
	return diags
}

func fileRunsWithoutTransaction(f migrate.File) bool {
	noTx, err := txModeNone(f)
	return err == nil && noTx
}
