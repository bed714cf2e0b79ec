package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/lib/pq"
)

// plannedChange is one statement of a plan, as the JSON output shows it.
type plannedChange struct {
	Comment string `json:"comment"`
	SQL     string `json:"sql"`
}

type applyResult struct {
	Changes []plannedChange `json:"changes"`
	Applied bool            `json:"applied"`
}

type diffResult struct {
	InSync  bool            `json:"inSync"`
	Changes []plannedChange `json:"changes"`
}

// schemaApply brings the target database to the state of env.src: the
// declarative path. Without a dev database (an empty dev url), only a target
// that holds none of the declared schemas is planned (see planToCreate).
func schemaApply(ctx context.Context, c *config, dryRun bool) (*applyResult, error) {
	var db *database
	var plan *migrate.Plan
	if c.DevURL == "" {
		target, err := c.requireURL()
		if err != nil {
			return nil, err
		}
		if db, err = connect(ctx, target); err != nil {
			return nil, err
		}
		defer db.Close()
		if plan, err = planToCreate(ctx, c, db); err != nil {
			return nil, err
		}
	} else {
		var dev *database
		var err error
		if db, dev, err = connectBoth(ctx, c); err != nil {
			return nil, err
		}
		defer db.Close()
		defer dev.Close()
		if plan, err = planToDesired(ctx, c, db, dev); err != nil {
			return nil, err
		}
	}
	result := &applyResult{Changes: describePlan(plan)}
	if dryRun || len(plan.Changes) == 0 {
		return result, nil
	}
	if err := executePlan(ctx, db.DB, plan); err != nil {
		return nil, err
	}
	result.Applied = true
	return result, nil
}

// schemaDiff reports drift: the statements that would bring the target
// database back to env.src. Nothing is changed on the target.
func schemaDiff(ctx context.Context, c *config) (*diffResult, error) {
	db, dev, err := connectBoth(ctx, c)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	defer dev.Close()
	plan, err := planToDesired(ctx, c, db, dev)
	if err != nil {
		return nil, err
	}
	changes := describePlan(plan)
	return &diffResult{InSync: len(changes) == 0, Changes: changes}, nil
}

// planToDesired plans the changes from the live database to the desired
// state, looking only at the schemas the HCL declares: other schemas (public,
// atlas_schema_revisions, a neighbour's) are neither inspected nor dropped.
// Functions and triggers are not inspected by the library, so they are never
// planned away.
func planToDesired(ctx context.Context, c *config, db, dev *database) (*migrate.Plan, error) {
	desired, err := desiredState(ctx, c, dev)
	if err != nil {
		return nil, err
	}
	return planFromCurrent(ctx, c, db, desired)
}

// planToCreate plans the desired state into a target that holds none of the
// schemas it declares, without a dev database. Normalising on a dev database
// is there to make the desired state compare equal to an inspected one; here
// there is nothing to compare with, so the evaluated state is planned as it
// is (as the official CLI does without --dev-url). The statements are the
// normalised plan's up to order and spelling (USING BRIN for brin, a partial
// index's predicate as written); the schema tests check that both paths end
// in identical catalogs and that a normalised re-plan of the result is empty.
// On an empty target every statement runs in the one transaction, so a
// schema that does not build writes nothing. A target that holds a declared
// schema is DevDatabaseNeeded, found with one query before any inspection.
func planToCreate(ctx context.Context, c *config, db *database) (*migrate.Plan, error) {
	desired, err := evalSchemaFiles(c)
	if err != nil {
		return nil, err
	}
	var held []string
	rows, err := db.DB.QueryContext(ctx, `SELECT nspname FROM pg_namespace WHERE nspname = ANY($1) ORDER BY nspname`, pq.Array(schemaNames(desired)))
	if err != nil {
		return nil, asEngineError(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			_ = rows.Close()
			return nil, asEngineError(err)
		}
		held = append(held, name)
	}
	if err := rows.Err(); err != nil {
		return nil, asEngineError(err)
	}
	if len(held) > 0 {
		return nil, fail(reasonDevDatabaseNeeded, "the database already holds schema %s: planning a change to it needs a dev database (set ATLAS_DEV_URL to an empty scratch database)", held[0])
	}
	return planFromCurrent(ctx, c, db, desired)
}

// planFromCurrent inspects the declared schemas in the target and plans the
// changes that take them to the desired state.
func planFromCurrent(ctx context.Context, c *config, db *database, desired *schema.Realm) (*migrate.Plan, error) {
	current, err := db.Driver.InspectRealm(ctx, &schema.InspectRealmOption{Schemas: schemaNames(desired)})
	if err != nil {
		return nil, asEngineError(err)
	}
	changes, err := db.Driver.RealmDiff(current, desired, c.diffOptions()...)
	if err != nil {
		return nil, fail(reasonPlanFailed, "the difference to %s cannot be computed: %s", sourceNames(c), sentence(scrub(err.Error())))
	}
	plan, err := db.Driver.PlanChanges(ctx, "schema_apply", changes)
	if err != nil {
		return nil, fail(reasonPlanFailed, "the changes to %s cannot be planned: %s", sourceNames(c), sentence(scrub(err.Error())))
	}
	return plan, nil
}

// desiredState evaluates the schema files of env.src and normalises them on
// the dev database, so that defaults and types compare equal to what an
// inspection of a live database returns.
func desiredState(ctx context.Context, c *config, dev *database) (*schema.Realm, error) {
	realm, err := evalSchemaFiles(c)
	if err != nil {
		return nil, err
	}
	normalized, err := dev.Driver.NormalizeRealm(ctx, realm)
	if err != nil {
		var notClean *migrate.NotCleanError
		if errors.As(err, &notClean) {
			return nil, fail(reasonDirtyDatabase, "the dev database must be empty, but it is not (%s)", notClean.Reason)
		}
		if ce := connectionError(err); ce != nil && sqlState(err) != "42501" {
			return nil, aboutDev(ce)
		}
		if sqlState(err) == "42501" {
			return nil, fail(reasonPermissionDenied, "dev database: %s", serverMessage(err)).with("sqlstate", "42501")
		}
		return nil, fail(reasonSchemaInvalid, "%s does not build on the dev database: %s", sourceNames(c), sentence(serverMessage(err))).with("sqlstate", sqlState(err))
	}
	return normalized, nil
}

// evalSchemaFiles reads env.src with Atlas's PostgreSQL HCL evaluator.
func evalSchemaFiles(c *config) (*schema.Realm, error) {
	if len(c.Sources) == 0 {
		return nil, fail(reasonConfigInvalid, "env %q of %s has no src (the schema file, e.g. src = \"file://schema.hcl\")", c.Env, filepath.Base(c.File))
	}
	parser := hclparse.NewParser()
	for _, path := range c.Sources {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, fail(reasonSchemaInvalid, "%s cannot be read: %v", filepath.Base(path), unwrapPathError(err))
		}
		if _, diags := parser.ParseHCL(src, filepath.Base(path)); diags.HasErrors() {
			return nil, fail(reasonSchemaInvalid, "%s", hclMessage(diags, filepath.Base(path)))
		}
	}
	realm := &schema.Realm{}
	if err := postgres.EvalHCL.Eval(parser, realm, nil); err != nil {
		return nil, fail(reasonSchemaInvalid, "%s", hclMessage(err, filepath.Base(c.Sources[0])))
	}
	if len(realm.Schemas) == 0 {
		return nil, fail(reasonSchemaInvalid, "%s declares no schema block", sourceNames(c))
	}
	return realm, nil
}

func schemaNames(r *schema.Realm) []string {
	names := make([]string, len(r.Schemas))
	for i, s := range r.Schemas {
		names[i] = s.Name
	}
	return names
}

func sourceNames(c *config) string {
	names := make([]string, len(c.Sources))
	for i, s := range c.Sources {
		names[i] = filepath.Base(s)
	}
	return strings.Join(names, ", ")
}

// describePlan is the plan as comment/statement pairs, comments capitalised
// as Atlas writes them in migration files.
func describePlan(plan *migrate.Plan) []plannedChange {
	changes := make([]plannedChange, 0, len(plan.Changes))
	for _, ch := range plan.Changes {
		changes = append(changes, plannedChange{Comment: capitalize(ch.Comment), SQL: ch.Cmd})
	}
	return changes
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// executePlan runs a plan in one transaction, unless one of its statements
// cannot run inside one (CREATE/DROP INDEX CONCURRENTLY): then statement by
// statement, as Atlas does for a file with `atlas:txmode none`.
func executePlan(ctx context.Context, db *sql.DB, plan *migrate.Plan) error {
	if !planIsTransactional(plan) {
		for i, ch := range plan.Changes {
			if _, err := db.ExecContext(ctx, ch.Cmd, ch.Args...); err != nil {
				return planStatementError(i, len(plan.Changes), ch.Cmd, err)
			}
		}
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return asEngineError(err)
	}
	for i, ch := range plan.Changes {
		if _, err := tx.ExecContext(ctx, ch.Cmd, ch.Args...); err != nil {
			_ = tx.Rollback()
			return planStatementError(i, len(plan.Changes), ch.Cmd, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return asEngineError(err)
	}
	return nil
}

// planIsTransactional tells whether every planned statement may run inside a
// transaction, by PostgreSQL's parser.
func planIsTransactional(plan *migrate.Plan) bool {
	for _, ch := range plan.Changes {
		if info, err := classify(ch.Cmd); err == nil && !info.Transactional {
			return false
		}
	}
	return true
}

func planStatementError(i, total int, stmt string, err error) error {
	if ce := connectionError(err); ce != nil && sqlState(err) == "" {
		return ce
	}
	reason := reasonMigrationFailed
	if sqlState(err) == "42501" {
		reason = reasonPermissionDenied
	}
	return fail(reason, "statement %d of %d of the plan failed: %s", i+1, total, sentence(serverMessage(err))).
		with("statementIndex", i+1).
		with("sqlstate", sqlState(err)).
		with("statement", firstLine(stmt))
}

func (r *applyResult) human() string {
	var b strings.Builder
	writeChanges(&b, r.Changes)
	switch {
	case len(r.Changes) == 0:
		b.WriteString("no changes: the database matches the schema\n")
	case r.Applied:
		fmt.Fprintf(&b, "applied %d change(s)\n", len(r.Changes))
	default:
		fmt.Fprintf(&b, "dry run: %d change(s) planned, nothing applied\n", len(r.Changes))
	}
	return b.String()
}

func (r *diffResult) human() string {
	var b strings.Builder
	if r.InSync {
		return "in sync: the database matches the schema\n"
	}
	fmt.Fprintf(&b, "drift: %d statement(s) would bring the database back to the schema\n", len(r.Changes))
	writeChanges(&b, r.Changes)
	return b.String()
}

func writeChanges(b *strings.Builder, changes []plannedChange) {
	for _, ch := range changes {
		if ch.Comment != "" {
			fmt.Fprintf(b, "-- %s\n", ch.Comment)
		}
		fmt.Fprintf(b, "%s;\n", ch.SQL)
	}
}
