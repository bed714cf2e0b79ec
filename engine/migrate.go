package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
)

// applyLockName is the advisory lock the official CLI takes for migrate apply
// (cmdapi.applyLockValue); Atlas's driver hashes it with FNV-32 into the key
// of pg_try_advisory_lock, so the CLI and the engine exclude each other.
const applyLockName = "atlas_migrate_execute"

var migrationNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

type appliedFile struct {
	Version     string `json:"version"`
	Description string `json:"description"`
	Statements  int    `json:"statements"`
	DurationMs  int64  `json:"durationMs"`
}

type migrateApplyResult struct {
	Applied []appliedFile `json:"applied"`
	Current string        `json:"current"`
	Pending int           `json:"pending"`
	// Planned lists what a --dry-run would apply (statements not yet run).
	Planned []appliedFile `json:"planned,omitempty"`
	DryRun  bool          `json:"dryRun,omitempty"`
}

type partialRevision struct {
	Version string `json:"version"`
	Applied int    `json:"applied"`
	Total   int    `json:"total"`
	Error   string `json:"error"`
}

type migrateStatusResult struct {
	Current string           `json:"current"`
	Next    string           `json:"next"`
	Pending []string         `json:"pending"`
	Applied int              `json:"applied"`
	Partial *partialRevision `json:"partial"`
}

type writtenResult struct {
	Written []string `json:"written"`
	Version string   `json:"version"`
}

type validateResult struct {
	Valid bool `json:"valid"`
	Files int  `json:"files"`
}

// openMigrationDir opens env.migration.dir and checks atlas.sum against it.
func openMigrationDir(c *config, checkSum bool) (*migrate.LocalDir, error) {
	path, err := c.requireMigrationDir()
	if err != nil {
		return nil, err
	}
	dir, err := migrate.NewLocalDir(path)
	if err != nil {
		return nil, fail(reasonConfigInvalid, "the migration directory %s cannot be opened: %v", filepath.Base(path), unwrapPathError(err))
	}
	if checkSum {
		if err := validateSum(dir); err != nil {
			return nil, err
		}
	}
	return dir, nil
}

// validateSum turns Atlas's checksum errors into one sentence naming the file.
func validateSum(dir *migrate.LocalDir) error {
	err := migrate.Validate(dir)
	var ce *migrate.ChecksumError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return fail(reasonChecksumMismatch, "atlas.sum does not match the migration directory: %s was %s since it was hashed (run migrate hash only if that was intended)", ce.File, ce.Reason).
			with("file", ce.File).with("change", ce.Reason.String())
	case errors.Is(err, migrate.ErrChecksumNotFound):
		return fail(reasonChecksumMismatch, "atlas.sum is missing from the migration directory (run migrate hash)").with("file", migrate.HashFileName)
	case errors.Is(err, migrate.ErrChecksumFormat), errors.Is(err, migrate.ErrChecksumMismatch):
		return fail(reasonChecksumMismatch, "atlas.sum is malformed or its first line does not match its entries").with("file", migrate.HashFileName)
	default:
		return fail(reasonConfigInvalid, "the migration directory cannot be read: %s", sentence(scrub(err.Error())))
	}
}

// migrateApply applies the pending files of the migration directory, each in
// a transaction of its own unless it starts with `-- atlas:txmode none`.
func migrateApply(ctx context.Context, c *config, dryRun bool) (*migrateApplyResult, error) {
	dir, err := openMigrationDir(c, true)
	if err != nil {
		return nil, err
	}
	return applyDirectory(ctx, c, dir, dryRun, nil)
}

// applyDirectory is migrate apply with the directory opened and atlas.sum
// checked, on one connection (the lock's). When confirm is given, it is
// called with the database's status, read under the lock, before anything
// is applied; an error from it stops the apply there (see serve.go).
func applyDirectory(ctx context.Context, c *config, dir migrate.Dir, dryRun bool, confirm func(*migrateStatusResult) error) (*migrateApplyResult, error) {
	target, err := c.requireURL()
	if err != nil {
		return nil, err
	}
	db, err := connectPinned(ctx, target)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	unlock, err := db.Driver.Lock(ctx, applyLockName, c.LockTimeout)
	if err != nil {
		if errors.Is(err, schema.ErrLocked) {
			return nil, fail(reasonLockTimeout, "another migrate apply holds the %s lock on this database; gave up after %s", applyLockName, c.LockTimeout)
		}
		return nil, asEngineError(err)
	}
	defer func() { _ = unlock() }()
	rrw, err := revisionsFor(ctx, db, !dryRun)
	if err != nil {
		return nil, err
	}
	pending, revs, err := pendingFiles(ctx, db, dir, rrw)
	if err != nil {
		return nil, err
	}
	if confirm != nil {
		if err := confirm(statusOf(pending, revs)); err != nil {
			return nil, err
		}
	}
	result := &migrateApplyResult{Applied: []appliedFile{}, DryRun: dryRun}
	for _, f := range pending {
		if dryRun {
			n, err := remainingStatements(ctx, db.Driver, rrw, f)
			if err != nil {
				return nil, err
			}
			result.Planned = append(result.Planned, appliedFile{Version: f.Version(), Description: f.Desc(), Statements: n})
			continue
		}
		applied, err := applyFile(ctx, db, dir, f)
		if err != nil {
			return nil, err
		}
		result.Applied = append(result.Applied, *applied)
	}
	if result.Current, err = currentVersion(ctx, rrw); err != nil {
		return nil, asEngineError(err)
	}
	if dryRun {
		result.Pending = len(pending)
	}
	return result, nil
}

// revisionsFor returns the revision table of db, creating it when create is
// set; a database without one reads as having no revisions.
func revisionsFor(ctx context.Context, db *database, create bool) (migrate.RevisionReadWriter, error) {
	if create {
		if err := ensureRevisionTable(ctx, db.Exec); err != nil {
			if sqlState(err) == "42501" {
				return nil, fail(reasonPermissionDenied, "the revision table atlas_schema_revisions cannot be created: %s", serverMessage(err)).with("sqlstate", "42501")
			}
			return nil, asEngineError(err)
		}
		return &revisions{conn: db.Exec}, nil
	}
	exists, err := revisionTableExists(ctx, db.Exec)
	if err != nil {
		return nil, asEngineError(err)
	}
	if !exists {
		return migrate.NopRevisionReadWriter{}, nil
	}
	return &revisions{conn: db.Exec}, nil
}

// pendingFiles are the files not (fully) applied yet, by Atlas's rules:
// linear history, a partially applied file resumes, and a database with
// objects but no history is refused.
// It also gives the revisions it read.
func pendingFiles(ctx context.Context, db *database, dir migrate.Dir, rrw migrate.RevisionReadWriter) ([]migrate.File, []*migrate.Revision, error) {
	revs, err := checkNotAhead(ctx, dir, rrw)
	if err != nil {
		return nil, nil, err
	}
	ex, err := migrate.NewExecutor(db.Driver, dir, rrw, migrate.WithOperatorVersion(operatorVersion()))
	if err != nil {
		return nil, nil, asEngineError(err)
	}
	pending, err := ex.Pending(ctx)
	var (
		notClean  *migrate.NotCleanError
		nonLinear *migrate.HistoryNonLinearError
		missing   *migrate.MissingMigrationError
	)
	switch {
	case err == nil:
		return pending, revs, nil
	case errors.Is(err, migrate.ErrNoPendingFiles):
		return nil, revs, nil
	case errors.As(err, &notClean):
		return nil, nil, fail(reasonDirtyDatabase, "the database has no migration history but is not empty (%s): apply migrations to an empty database, or baseline it with the official CLI", notClean.Reason)
	case errors.As(err, &nonLinear):
		return nil, nil, fail(reasonDirtyDatabase, "%s", sentence(nonLinear.Error()))
	case errors.As(err, &missing):
		return nil, nil, fail(reasonDirtyDatabase, "revision %s is partially applied but its file is not in the migration directory", missing.Version).with("version", missing.Version)
	default:
		return nil, nil, asEngineError(err)
	}
}

// checkNotAhead refuses a database whose newest revision is newer than the
// newest file: Atlas would silently report nothing pending. It gives the
// revisions it read.
func checkNotAhead(ctx context.Context, dir migrate.Dir, rrw migrate.RevisionReadWriter) ([]*migrate.Revision, error) {
	revs, err := rrw.ReadRevisions(ctx)
	if err != nil || len(revs) == 0 {
		if err != nil {
			return nil, asEngineError(err)
		}
		return revs, nil
	}
	files, err := dir.Files()
	if err != nil {
		return nil, asEngineError(err)
	}
	last := revs[len(revs)-1].Version
	if len(files) == 0 || last > files[len(files)-1].Version() {
		return nil, fail(reasonDirtyDatabase, "the database is at version %s, which the migration directory does not have (it is older than the database)", last).with("version", last)
	}
	return revs, nil
}

// applyFile runs one file: in a transaction of its own (the revision row is
// written in it too, so a failure leaves no trace, as with the CLI), or, with
// `atlas:txmode none`, statement by statement with the revision updated after
// each, so that a re-run resumes at the statement that failed.
func applyFile(ctx context.Context, db *database, dir migrate.Dir, f migrate.File) (*appliedFile, error) {
	noTx, err := txModeNone(f)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var n int
	if noTx {
		rrw := &revisions{conn: db.Exec}
		if n, err = remainingStatements(ctx, db.Driver, rrw, f); err != nil {
			return nil, err
		}
		err = executeFile(ctx, db.Driver, dir, rrw, f)
	} else {
		n, err = applyInTransaction(ctx, db, dir, f)
	}
	if err != nil {
		return nil, migrationError(db.Driver, f, noTx, err)
	}
	return &appliedFile{Version: f.Version(), Description: f.Desc(), Statements: n, DurationMs: time.Since(start).Milliseconds()}, nil
}

func applyInTransaction(ctx context.Context, db *database, dir migrate.Dir, f migrate.File) (int, error) {
	tx, err := db.Exec.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	// Atlas's driver with its statements sent to the transaction: its
	// statement scanner splits the file exactly as the CLI's does (same
	// totals and partial hashes).
	drv := onTx{Driver: db.Driver, tx: tx}
	rrw := &deferredRevisions{revisions: revisions{conn: tx}}
	n, err := remainingStatements(ctx, drv, rrw, f)
	if err == nil {
		err = executeFile(ctx, drv, dir, rrw, f)
	}
	if err == nil {
		err = rrw.flush(ctx)
	}
	if err != nil {
		_ = tx.Rollback()
		return 0, err
	}
	return n, tx.Commit()
}

// onTx is the database's Atlas driver with what the executor runs
// (ExecContext, QueryContext) sent to a file's transaction instead: the
// executor uses nothing else of it while it applies a file, and the driver is
// not opened again for each file (a query each time).
type onTx struct {
	*postgres.Driver
	tx *sql.Tx
}

func (d onTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.tx.ExecContext(ctx, query, args...)
}

func (d onTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.tx.QueryContext(ctx, query, args...)
}

func executeFile(ctx context.Context, drv migrate.Driver, dir migrate.Dir, rrw migrate.RevisionReadWriter, f migrate.File) error {
	ex, err := migrate.NewExecutor(drv, dir, rrw, migrate.WithOperatorVersion(operatorVersion()))
	if err != nil {
		return err
	}
	return ex.Execute(ctx, f)
}

// remainingStatements is how many statements of f a run executes: all of
// them, or those after the ones a partial run already applied.
func remainingStatements(ctx context.Context, drv migrate.Driver, rrw migrate.RevisionReadWriter, f migrate.File) (int, error) {
	stmts, err := migrate.FileStmtDecls(drv, f)
	if err != nil {
		return 0, fail(reasonMigrationFailed, "%s cannot be split into statements: %s", f.Name(), sentence(err.Error())).with("file", f.Name()).with("version", f.Version())
	}
	rev, err := rrw.ReadRevision(ctx, f.Version())
	switch {
	case errors.Is(err, migrate.ErrRevisionNotExist):
		return len(stmts), nil
	case err != nil:
		return 0, asEngineError(err)
	default:
		return len(stmts) - rev.Applied, nil
	}
}

// txModeNone reads the file's `-- atlas:txmode` directive.
func txModeNone(f migrate.File) (bool, error) {
	lf, ok := f.(*migrate.LocalFile)
	if !ok {
		return false, nil
	}
	switch modes := lf.Directive("txmode"); {
	case len(modes) == 0:
		return false, nil
	case len(modes) > 1:
		return false, fail(reasonMigrationFailed, "%s has more than one atlas:txmode directive", f.Name()).with("file", f.Name())
	case modes[0] == "none":
		return true, nil
	case modes[0] == "file":
		return false, nil
	default:
		return false, fail(reasonMigrationFailed, "%s has atlas:txmode %q; only none and file are allowed in a file", f.Name(), modes[0]).with("file", f.Name())
	}
}

// migrationError reports a failed file: which statement, the server's
// message and SQLSTATE, never the statement beyond its first line.
func migrationError(drv migrate.Driver, f migrate.File, noTx bool, err error) error {
	var stmtErr *migrate.StmtExecError
	var changed migrate.HistoryChangedError
	switch {
	case errors.As(err, &stmtErr):
		index, total := statementIndex(drv, f, stmtErr.Stmt)
		after := "the file was rolled back"
		if noTx {
			after = fmt.Sprintf("statements before it stay applied (atlas:txmode none); a re-run resumes at statement %d", index)
		}
		reason := reasonMigrationFailed
		if sqlState(stmtErr.Err) == "42501" {
			reason = reasonPermissionDenied
		}
		return fail(reason, "%s statement %d of %d failed: %s; %s", f.Name(), index, total, sentence(serverMessage(stmtErr.Err)), after).
			with("version", f.Version()).with("file", f.Name()).with("statementIndex", index).
			with("sqlstate", sqlState(stmtErr.Err)).with("statement", firstLine(stmtErr.Stmt.Text))
	case errors.As(err, &changed):
		return fail(reasonDirtyDatabase, "%s was partially applied and statement %d has changed since: restore it or resolve the revision by hand", changed.File, changed.Stmt).
			with("file", changed.File).with("statementIndex", changed.Stmt).with("version", f.Version())
	default:
		ee := asEngineError(err)
		if ee.Reason == reasonInternal {
			ee = fail(reasonMigrationFailed, "%s failed: %s", f.Name(), ee.Message).with("file", f.Name()).with("version", f.Version())
		}
		return ee
	}
}

func statementIndex(drv migrate.Driver, f migrate.File, stmt *migrate.Stmt) (int, int) {
	stmts, err := migrate.FileStmtDecls(drv, f)
	if err != nil || stmt == nil {
		return 0, len(stmts)
	}
	for i, s := range stmts {
		if s.Pos == stmt.Pos {
			return i + 1, len(stmts)
		}
	}
	return 0, len(stmts)
}

// currentVersion is the newest fully applied revision, or "".
func currentVersion(ctx context.Context, rrw migrate.RevisionReadWriter) (string, error) {
	revs, err := rrw.ReadRevisions(ctx)
	if err != nil {
		return "", err
	}
	for i := len(revs) - 1; i >= 0; i-- {
		if revs[i].Applied == revs[i].Total {
			return revs[i].Version, nil
		}
	}
	return "", nil
}

// migrateStatus reads the revision table without writing anything.
func migrateStatus(ctx context.Context, c *config) (*migrateStatusResult, error) {
	dir, err := openMigrationDir(c, true)
	if err != nil {
		return nil, err
	}
	return directoryStatus(ctx, c, dir)
}

// directoryStatus is migrate status with the directory opened and atlas.sum checked.
func directoryStatus(ctx context.Context, c *config, dir migrate.Dir) (*migrateStatusResult, error) {
	target, err := c.requireURL()
	if err != nil {
		return nil, err
	}
	db, err := connect(ctx, target)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rrw, err := revisionsFor(ctx, db, false)
	if err != nil {
		return nil, err
	}
	pending, revs, err := pendingFiles(ctx, db, dir, rrw)
	if err != nil {
		return nil, err
	}
	return statusOf(pending, revs), nil
}

// statusOf is migrate status's document: the pending files, and the revisions.
func statusOf(pending []migrate.File, revs []*migrate.Revision) *migrateStatusResult {
	result := &migrateStatusResult{Pending: []string{}}
	for _, f := range pending {
		result.Pending = append(result.Pending, f.Version())
	}
	if len(pending) > 0 {
		result.Next = pending[0].Version()
	}
	for _, r := range revs {
		if r.Applied == r.Total {
			result.Applied++
			result.Current = r.Version
		}
	}
	if n := len(revs); n > 0 && revs[n-1].Applied != revs[n-1].Total {
		last := revs[n-1]
		result.Partial = &partialRevision{Version: last.Version, Applied: last.Applied, Total: last.Total, Error: sentence(scrub(last.Error))}
	}
	return result
}

// migrateDiff writes the migration from the directory's state (replayed on
// the dev database) to env.src, in Atlas's file format, and rewrites atlas.sum
// (unless dirOnly: then the caller edits the file and runs migrate hash).
func migrateDiff(ctx context.Context, c *config, name string, dirOnly bool) (*writtenResult, error) {
	if !migrationNamePattern.MatchString(name) {
		return nil, usage("migration name %q must be lower-case letters, digits and underscores, starting with a letter, at most 63 characters", name)
	}
	dir, err := openMigrationDir(c, true)
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
	desired, err := desiredState(ctx, c, dev)
	if err != nil {
		return nil, err
	}
	current, err := replayDirectory(ctx, dev, dir, schemaNames(desired))
	if err != nil {
		return nil, err
	}
	changes, err := dev.Driver.RealmDiff(current, desired, c.diffOptions()...)
	if err != nil {
		return nil, fail(reasonPlanFailed, "the difference to %s cannot be computed: %s", sourceNames(c), sentence(scrub(err.Error())))
	}
	if len(changes) == 0 {
		return &writtenResult{Written: []string{}}, nil
	}
	plan, err := dev.Driver.PlanChanges(ctx, name, changes)
	if err != nil {
		return nil, fail(reasonPlanFailed, "the changes to %s cannot be planned: %s", sourceNames(c), sentence(scrub(err.Error())))
	}
	if plan.Version, err = nextVersion(dir); err != nil {
		return nil, err
	}
	if !planIsTransactional(plan) {
		plan.Directives = append(plan.Directives, "-- atlas:txmode none")
	}
	return writePlan(dir, plan, !dirOnly)
}

// replayDirectory executes every file on the dev database and inspects the
// declared schemas; Atlas restores the dev database afterwards.
func replayDirectory(ctx context.Context, dev *database, dir *migrate.LocalDir, schemas []string) (*schema.Realm, error) {
	ex, err := migrate.NewExecutor(dev.Driver, dir, migrate.NopRevisionReadWriter{})
	if err != nil {
		return nil, asEngineError(err)
	}
	var inspect migrate.StateReader = migrate.StateReaderFunc(func(context.Context) (*schema.Realm, error) {
		return schema.NewRealm(), nil
	})
	if schemas != nil {
		inspect = migrate.RealmConn(dev.Driver, &schema.InspectRealmOption{Schemas: schemas})
	}
	realm, err := ex.Replay(ctx, inspect)
	if err != nil {
		return nil, replayError(dev.Driver, err)
	}
	return realm, nil
}

func replayError(drv migrate.Driver, err error) error {
	var notClean *migrate.NotCleanError
	var stmtErr *migrate.StmtExecError
	switch {
	case errors.As(err, &notClean):
		return fail(reasonDirtyDatabase, "the dev database must be empty, but it is not (%s)", notClean.Reason)
	case errors.As(err, &stmtErr):
		index, total := statementIndex(drv, stmtErr.File, stmtErr.Stmt)
		return fail(reasonMigrationFailed, "%s statement %d of %d does not replay on the dev database: %s", stmtErr.File.Name(), index, total, sentence(serverMessage(stmtErr.Err))).
			with("version", stmtErr.File.Version()).with("file", stmtErr.File.Name()).with("statementIndex", index).
			with("sqlstate", sqlState(stmtErr.Err)).with("statement", firstLine(stmtErr.Stmt.Text))
	default:
		return aboutDev(err)
	}
}

// nextVersion is the current UTC time as YYYYMMDDHHMMSS, or the newest
// file's version plus one when the clock is not past it (two diffs in one
// second, or a directory from the future): never a sleep.
func nextVersion(dir *migrate.LocalDir) (string, error) {
	version := time.Now().UTC().Format("20060102150405")
	files, err := dir.Files()
	if err != nil {
		return "", asEngineError(err)
	}
	if len(files) == 0 {
		return version, nil
	}
	latest := files[len(files)-1].Version()
	now, _ := new(big.Int).SetString(version, 10)
	last, ok := new(big.Int).SetString(latest, 10)
	if !ok || now.Cmp(last) > 0 {
		return version, nil
	}
	return last.Add(last, big.NewInt(1)).String(), nil
}

// writePlan formats the plan as the CLI does (migrate.DefaultFormatter: a
// `-- Comment` line above each statement, directives first) and updates
// atlas.sum when sum is set.
func writePlan(dir *migrate.LocalDir, plan *migrate.Plan, sum bool) (*writtenResult, error) {
	files, err := migrate.DefaultFormatter.Format(plan)
	if err != nil {
		return nil, fail(reasonPlanFailed, "the migration file cannot be formatted: %s", sentence(err.Error()))
	}
	result := &writtenResult{Written: []string{}, Version: plan.Version}
	for _, f := range files {
		if err := dir.WriteFile(f.Name(), f.Bytes()); err != nil {
			return nil, fail(reasonInternal, "%s cannot be written: %v", f.Name(), unwrapPathError(err))
		}
		result.Written = append(result.Written, f.Name())
	}
	if sum {
		if err := writeSum(dir); err != nil {
			return nil, err
		}
	}
	return result, nil
}

func writeSum(dir *migrate.LocalDir) error {
	sum, err := dir.Checksum()
	if err == nil {
		err = migrate.WriteSumFile(dir, sum)
	}
	if err != nil {
		return fail(reasonInternal, "atlas.sum cannot be written: %v", unwrapPathError(err))
	}
	return nil
}

// migrateNew writes an empty migration with the next version, as the CLI's
// `migrate new`, and updates atlas.sum.
func migrateNew(c *config, name string) (*writtenResult, error) {
	if !migrationNamePattern.MatchString(name) {
		return nil, usage("migration name %q must be lower-case letters, digits and underscores, starting with a letter, at most 63 characters", name)
	}
	dir, err := openMigrationDir(c, true)
	if err != nil {
		return nil, err
	}
	version, err := nextVersion(dir)
	if err != nil {
		return nil, err
	}
	return writePlan(dir, &migrate.Plan{Version: version, Name: name}, true)
}

// migrateHash rewrites atlas.sum from the directory's files.
func migrateHash(c *config) (*writtenResult, error) {
	dir, err := openMigrationDir(c, false)
	if err != nil {
		return nil, err
	}
	if err := writeSum(dir); err != nil {
		return nil, err
	}
	return &writtenResult{Written: []string{migrate.HashFileName}}, nil
}

// migrateValidate checks atlas.sum and replays every file on the dev database.
func migrateValidate(ctx context.Context, c *config) (*validateResult, error) {
	dir, err := openMigrationDir(c, true)
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
	if _, err := replayDirectory(ctx, dev, dir, nil); err != nil {
		return nil, err
	}
	files, err := dir.Files()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, asEngineError(err)
	}
	return &validateResult{Valid: true, Files: len(files)}, nil
}

func (r *migrateApplyResult) human() string {
	var b strings.Builder
	if r.DryRun {
		for _, f := range r.Planned {
			fmt.Fprintf(&b, "would apply %s_%s (%d statement(s))\n", f.Version, f.Description, f.Statements)
		}
		fmt.Fprintf(&b, "dry run: %d file(s) pending, nothing applied\n", r.Pending)
		return b.String()
	}
	for _, f := range r.Applied {
		fmt.Fprintf(&b, "applied %s_%s (%d statement(s), %d ms)\n", f.Version, f.Description, f.Statements, f.DurationMs)
	}
	if len(r.Applied) == 0 {
		b.WriteString("no pending migrations\n")
	}
	fmt.Fprintf(&b, "current version: %s\n", orNone(r.Current))
	return b.String()
}

func (r *migrateStatusResult) human() string {
	var b strings.Builder
	fmt.Fprintf(&b, "current version: %s\n", orNone(r.Current))
	fmt.Fprintf(&b, "applied: %d, pending: %d\n", r.Applied, len(r.Pending))
	if r.Next != "" {
		fmt.Fprintf(&b, "next: %s\n", r.Next)
	}
	if r.Partial != nil {
		fmt.Fprintf(&b, "partially applied: %s (%d of %d statements): %s\n", r.Partial.Version, r.Partial.Applied, r.Partial.Total, r.Partial.Error)
	}
	return b.String()
}

func (r *writtenResult) human() string {
	if len(r.Written) == 0 {
		return "no changes: the migration directory already matches the schema\n"
	}
	return "wrote " + strings.Join(r.Written, ", ") + "\n"
}

func (r *validateResult) human() string {
	return fmt.Sprintf("valid: atlas.sum matches and all %d file(s) replay\n", r.Files)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
