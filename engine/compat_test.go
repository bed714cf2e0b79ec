//go:build compat

// Compatibility with the official Atlas CLI, run on demand:
//
//	ENGINE_TEST_ATLAS_CLI=/path/to/atlas go test -tags compat -run Compat ./...
//
// The pinned community CLI (v0.13.1, built by scripts/setup.sh into
// .bin/atlas) talks to PostgreSQL 15 at most, so ENGINE_TEST_ADMIN_URL must
// point at a server it supports.
package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func atlasCLI(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("ENGINE_TEST_ATLAS_CLI")
	if bin == "" {
		bin = "../.bin/atlas"
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("the compat tests need the Atlas CLI at %s (ENGINE_TEST_ATLAS_CLI): %v", abs, err)
	}
	return abs
}

// cli runs the official CLI on p's database and migration directory dir
// (passing the URL through the environment would need an atlas.hcl; the
// URLs here are local test databases with no password).
func (p *testProject) cli(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	full := append(args, "--dir", "file://"+dir)
	if args[0] == "migrate" && args[1] == "validate" {
		full = append(full, "--dev-url", p.devURL)
	} else {
		full = append(full, "--url", p.url)
	}
	cmd := exec.Command(atlasCLI(t), full...)
	cmd.Env = append(os.Environ(), "ATLAS_NO_UPDATE_NOTIFIER=1", "ATLAS_NO_UPGRADE_SUGGESTIONS=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// subDir copies the first n files of the project's directory into a new
// project directory and hashes it (same files, same hashes); it returns the
// new migrations directory.
func (p *testProject) subDir(t *testing.T, n int) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "migrations")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, _ := filepath.Glob(filepath.Join(p.dir, "migrations", "*.sql"))
	for _, e := range entries[:n] {
		copyFile(t, e, filepath.Join(dir, filepath.Base(e)))
	}
	writeFile(t, filepath.Join(root, "atlas.hcl"), testAtlasHCL)
	wantCode(t, runEngine(t, root, nil, "", "migrate", "hash"), 0)
	return dir
}

func TestCompatCLIReadsTheEnginesHistory(t *testing.T) {
	p := newProject(t, true)
	wantCode(t, p.engine(t, "migrate", "apply"), 0)
	out, err := p.cli(t, filepath.Join(p.dir, "migrations"), "migrate", "status")
	if err != nil || !strings.Contains(out, "Migration Status: OK") || !strings.Contains(out, "Pending Files:   0") {
		t.Fatalf("CLI status on an engine-migrated database: %v\n%s", err, out)
	}
	out, err = p.cli(t, filepath.Join(p.dir, "migrations"), "migrate", "apply")
	if err != nil || !strings.Contains(out, "No migration files to execute") {
		t.Fatalf("CLI apply should apply nothing: %v\n%s", err, out)
	}
}

func TestCompatEngineContinuesTheCLIsHistory(t *testing.T) {
	p := newProject(t, true)
	out, err := p.cli(t, p.subDir(t, 2), "migrate", "apply")
	if err != nil {
		t.Fatalf("CLI apply: %v\n%s", err, out)
	}
	r := p.engine(t, "migrate", "apply")
	wantCode(t, r, 0)
	var res migrateApplyResult
	r.json(t, &res)
	if len(res.Applied) != 2 || res.Applied[0].Version != "20261127114820" {
		t.Fatalf("the engine should apply the two files the CLI had not: %+v", res)
	}
}

func TestCompatCLIContinuesTheEnginesHistory(t *testing.T) {
	p := newProject(t, true)
	full := filepath.Join(p.dir, "migrations")
	first := p.subDir(t, 2)
	p.dir = filepath.Dir(first)
	wantCode(t, p.engine(t, "migrate", "apply"), 0)
	out, err := p.cli(t, full, "migrate", "apply")
	if err != nil || !strings.Contains(out, "20261127114820") || !strings.Contains(out, "20261127114824") {
		t.Fatalf("the CLI should apply the two remaining files: %v\n%s", err, out)
	}
}

func TestCompatCLIResumesTheEnginesPartialFile(t *testing.T) {
	p := newProject(t, false)
	p.addMigration(t, "20260102000000_second.sql", "-- atlas:txmode none\n\nCREATE TABLE a_t (id int);\nINSERT INTO needed_t VALUES (1);\nCREATE TABLE b_t (id int);\n")
	wantCode(t, p.engine(t, "migrate", "apply"), 1)
	mustExec(t, p.url, `CREATE TABLE needed_t (id int)`)
	out, err := p.cli(t, filepath.Join(p.dir, "migrations"), "migrate", "apply")
	if err != nil || strings.Contains(out, "CREATE TABLE a_t") || !strings.Contains(out, "CREATE TABLE b_t") {
		t.Fatalf("the CLI should resume at statement 2: %v\n%s", err, out)
	}
}

func TestCompatCLIValidatesTheEnginesMigrateDiff(t *testing.T) {
	p := newProject(t, true)
	schemaPath := filepath.Join(p.dir, "schema.hcl")
	b, _ := os.ReadFile(schemaPath)
	anchor := `  index "idx_tenants_status" {`
	writeFile(t, schemaPath, strings.Replace(string(b), anchor, "  column \"region\" {\n    null = true\n    type = text\n  }\n\n  index \"idx_tenants_region\" {\n    columns = [column.region]\n  }\n\n"+anchor, 1))
	wantCode(t, p.engine(t, "migrate", "diff", "add_region"), 0)
	out, err := p.cli(t, filepath.Join(p.dir, "migrations"), "migrate", "validate")
	if err != nil {
		t.Fatalf("the CLI rejects the engine's file or atlas.sum: %v\n%s", err, out)
	}
	out, err = p.cli(t, filepath.Join(p.dir, "migrations"), "migrate", "apply")
	if err != nil || !strings.Contains(out, `CREATE INDEX CONCURRENTLY "idx_tenants_region"`) {
		t.Fatalf("the CLI should apply the engine's migration: %v\n%s", err, out)
	}
}
