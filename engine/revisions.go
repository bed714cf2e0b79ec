package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
)

// The revision table of the official Atlas CLI, which it creates through Ent
// (cmd/atlas/internal/migrate/ent/schema/revision.go). The DDL below gives
// the same table: pg_dump of one made by the CLI and of one made here are
// identical (column order, types, defaults, nullability, the primary key
// "atlas_schema_revisions_pkey"), so either tool continues the other's history.
const (
	revisionSchema = "atlas_schema_revisions"
	revisionTable  = "atlas_schema_revisions"
	// cloudIdentifierVersion is the row the CLI keeps for Atlas Cloud: not a
	// revision, skipped when reading, never written here.
	cloudIdentifierVersion = ".atlas_cloud_identifier"
)

const createRevisionTable = `CREATE TABLE IF NOT EXISTS "atlas_schema_revisions"."atlas_schema_revisions" (
  "version" character varying NOT NULL,
  "description" character varying NOT NULL,
  "type" bigint NOT NULL DEFAULT 2,
  "applied" bigint NOT NULL DEFAULT 0,
  "total" bigint NOT NULL DEFAULT 0,
  "executed_at" timestamptz NOT NULL,
  "execution_time" bigint NOT NULL,
  "error" text NULL,
  "error_stmt" text NULL,
  "hash" character varying NOT NULL,
  "partial_hashes" jsonb NULL,
  "operator_version" character varying NOT NULL,
  PRIMARY KEY ("version")
)`

const revisionColumns = `"version", "description", "type", "applied", "total", "executed_at", "execution_time", "error", "error_stmt", "hash", "partial_hashes", "operator_version"`

// revisions reads and writes the revision table through conn, which is the
// pool or the transaction of the file being applied (so that a failed
// transactional file leaves no row, as with the CLI).
type revisions struct {
	conn schema.ExecQuerier
}

var _ migrate.RevisionReadWriter = (*revisions)(nil)

// ensureRevisionTable creates the schema and table when missing (looked up
// first: a database that has them, as every one does after its first apply,
// costs one query, not two DDL statements).
func ensureRevisionTable(ctx context.Context, conn schema.ExecQuerier) error {
	if exists, err := revisionTableExists(ctx, conn); err != nil || exists {
		return err
	}
	if _, err := conn.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS "atlas_schema_revisions"`); err != nil {
		return err
	}
	_, err := conn.ExecContext(ctx, createRevisionTable)
	return err
}

// revisionTableExists tells whether a database has a revision table, without
// creating one (status must not write).
func revisionTableExists(ctx context.Context, conn schema.ExecQuerier) (bool, error) {
	rows, err := conn.QueryContext(ctx, `SELECT to_regclass('"atlas_schema_revisions"."atlas_schema_revisions"') IS NOT NULL`)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var exists bool
	if rows.Next() {
		if err := rows.Scan(&exists); err != nil {
			return false, err
		}
	}
	return exists, rows.Err()
}

// Ident implements migrate.RevisionReadWriter: CheckClean ignores this table.
func (r *revisions) Ident() *migrate.TableIdent {
	return &migrate.TableIdent{Name: revisionTable, Schema: revisionSchema}
}

// ReadRevisions returns every revision in version order.
func (r *revisions) ReadRevisions(ctx context.Context) ([]*migrate.Revision, error) {
	rows, err := r.conn.QueryContext(ctx, `SELECT `+revisionColumns+` FROM "atlas_schema_revisions"."atlas_schema_revisions" WHERE "version" <> $1 ORDER BY "version"`, cloudIdentifierVersion)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var revs []*migrate.Revision
	for rows.Next() {
		rev, err := scanRevision(rows)
		if err != nil {
			return nil, err
		}
		revs = append(revs, rev)
	}
	return revs, rows.Err()
}

// ReadRevision returns one revision, or migrate.ErrRevisionNotExist.
func (r *revisions) ReadRevision(ctx context.Context, version string) (*migrate.Revision, error) {
	if version == cloudIdentifierVersion {
		return nil, errors.New("the Atlas Cloud identifier row is not a revision")
	}
	rows, err := r.conn.QueryContext(ctx, `SELECT `+revisionColumns+` FROM "atlas_schema_revisions"."atlas_schema_revisions" WHERE "version" = $1`, version)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, migrate.ErrRevisionNotExist
	}
	return scanRevision(rows)
}

// WriteRevision inserts or updates a revision. Like the CLI's Ent upsert
// (UpdateNewValues), a conflict keeps the immutable columns description and
// executed_at of the first attempt.
func (r *revisions) WriteRevision(ctx context.Context, rev *migrate.Revision) error {
	if rev.Version == cloudIdentifierVersion {
		return errors.New("the Atlas Cloud identifier row is not written by the engine")
	}
	hashes, err := json.Marshal(rev.PartialHashes)
	if err != nil {
		return err
	}
	_, err = r.conn.ExecContext(ctx, `INSERT INTO "atlas_schema_revisions"."atlas_schema_revisions" (`+revisionColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT ("version") DO UPDATE SET
  "type" = EXCLUDED."type", "applied" = EXCLUDED."applied", "total" = EXCLUDED."total",
  "execution_time" = EXCLUDED."execution_time", "error" = EXCLUDED."error", "error_stmt" = EXCLUDED."error_stmt",
  "hash" = EXCLUDED."hash", "partial_hashes" = EXCLUDED."partial_hashes", "operator_version" = EXCLUDED."operator_version"`,
		rev.Version, rev.Description, int64(rev.Type), rev.Applied, rev.Total, rev.ExecutedAt,
		int64(rev.ExecutionTime), rev.Error, rev.ErrorStmt, rev.Hash, string(hashes), rev.OperatorVersion,
	)
	return err
}

// DeleteRevision removes a revision.
func (r *revisions) DeleteRevision(ctx context.Context, version string) error {
	_, err := r.conn.ExecContext(ctx, `DELETE FROM "atlas_schema_revisions"."atlas_schema_revisions" WHERE "version" = $1`, version)
	return err
}

func scanRevision(rows *sql.Rows) (*migrate.Revision, error) {
	var (
		rev              migrate.Revision
		typ, execTime    int64
		errText, errStmt sql.NullString
		partialHashes    sql.NullString
	)
	if err := rows.Scan(&rev.Version, &rev.Description, &typ, &rev.Applied, &rev.Total, &rev.ExecutedAt,
		&execTime, &errText, &errStmt, &rev.Hash, &partialHashes, &rev.OperatorVersion); err != nil {
		return nil, err
	}
	rev.Type = migrate.RevisionType(typ)
	rev.ExecutionTime = time.Duration(execTime)
	rev.Error, rev.ErrorStmt = errText.String, errStmt.String
	if partialHashes.Valid && partialHashes.String != "null" {
		if err := json.Unmarshal([]byte(partialHashes.String), &rev.PartialHashes); err != nil {
			return nil, fmt.Errorf("revision %s: partial_hashes: %w", rev.Version, err)
		}
	}
	return &rev, nil
}

// deferredRevisions is the revision table of a file applied in a transaction
// of its own. Atlas's executor writes the file's revision when it starts,
// after each statement and at the end; inside one transaction no other
// session can see any but the last, so only the last is written, once, by
// flush before the commit: the same row (executed_at is the first write's,
// as the upsert would have kept it), without a round trip per statement.
type deferredRevisions struct {
	revisions
	last      *migrate.Revision
	firstTime time.Time
	// read is what the table said of a version, read once: nobody else
	// writes it while the file's transaction holds the apply lock.
	read map[string]*migrate.Revision
}

// WriteRevision keeps a copy of rev for flush.
func (r *deferredRevisions) WriteRevision(_ context.Context, rev *migrate.Revision) error {
	if rev.Version == cloudIdentifierVersion {
		return errors.New("the Atlas Cloud identifier row is not written by the engine")
	}
	if r.last == nil || r.last.Version != rev.Version {
		r.firstTime = rev.ExecutedAt
	}
	r.last = copyRevision(rev)
	return nil
}

// ReadRevision sees the revision kept for flush first.
func (r *deferredRevisions) ReadRevision(ctx context.Context, version string) (*migrate.Revision, error) {
	if r.last != nil && r.last.Version == version {
		return copyRevision(r.last), nil
	}
	if rev, ok := r.read[version]; ok {
		if rev == nil {
			return nil, migrate.ErrRevisionNotExist
		}
		return copyRevision(rev), nil
	}
	rev, err := r.revisions.ReadRevision(ctx, version)
	switch {
	case errors.Is(err, migrate.ErrRevisionNotExist):
		r.remember(version, nil)
	case err == nil:
		r.remember(version, copyRevision(rev))
	}
	return rev, err
}

func (r *deferredRevisions) remember(version string, rev *migrate.Revision) {
	if r.read == nil {
		r.read = map[string]*migrate.Revision{}
	}
	r.read[version] = rev
}

func copyRevision(rev *migrate.Revision) *migrate.Revision {
	kept := *rev
	kept.PartialHashes = append([]string(nil), rev.PartialHashes...)
	return &kept
}

// ReadRevisions and DeleteRevision write the kept revision first.
func (r *deferredRevisions) ReadRevisions(ctx context.Context) ([]*migrate.Revision, error) {
	if err := r.flush(ctx); err != nil {
		return nil, err
	}
	return r.revisions.ReadRevisions(ctx)
}

func (r *deferredRevisions) DeleteRevision(ctx context.Context, version string) error {
	if err := r.flush(ctx); err != nil {
		return err
	}
	return r.revisions.DeleteRevision(ctx, version)
}

// flush writes the kept revision, with the time of the first write.
func (r *deferredRevisions) flush(ctx context.Context) error {
	if r.last == nil {
		return nil
	}
	rev := copyRevision(r.last)
	rev.ExecutedAt = r.firstTime
	r.last, r.read = nil, nil
	return r.revisions.WriteRevision(ctx, rev)
}
