package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The tests run the engine as a real process: the test binary itself, which
// TestMain turns into the engine when ENGINE_TEST_AS_MAIN is set. So each
// test sees real exit codes, stdout and environment handling.
func TestMain(m *testing.M) {
	if os.Getenv("ENGINE_TEST_AS_MAIN") == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// adminURL is the server the tests create their databases on.
func adminURL() string {
	if u := os.Getenv("ENGINE_TEST_ADMIN_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// urlFor is adminURL with another database name.
func urlFor(t *testing.T, name string) string {
	t.Helper()
	u, err := url.Parse(adminURL())
	if err != nil {
		t.Fatalf("ENGINE_TEST_ADMIN_URL is not a URL")
	}
	u.Path = "/" + name
	return u.String()
}

func openDB(t *testing.T, rawURL string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", rawURL)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// newDatabase creates an empty database for one test and drops it afterwards.
func newDatabase(t *testing.T, prefix string) string {
	t.Helper()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := "engine_" + prefix + "_" + hex.EncodeToString(suffix)
	admin := openDB(t, adminURL())
	if _, err := admin.Exec(`CREATE DATABASE "` + name + `"`); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("postgres", adminURL())
		if err == nil {
			_, _ = db.Exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`)
			_ = db.Close()
		}
	})
	return urlFor(t, name)
}

// exec runs SQL on a database and fails the test on error.
func mustExec(t *testing.T, rawURL string, stmts ...string) {
	t.Helper()
	db := openDB(t, rawURL)
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("exec %q: %v", firstLine(s), err)
		}
	}
}

func queryInt(t *testing.T, rawURL, query string, args ...any) int {
	t.Helper()
	var n int
	if err := openDB(t, rawURL).QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	return n
}

// testAtlasHCL is the repository's atlas.hcl shape with a short lock timeout.
const testAtlasHCL = `variable "url" {
  type    = string
  default = getenv("DATABASE_URL")
}

variable "dev_url" {
  type    = string
  default = getenv("ATLAS_DEV_URL")
}

env "local" {
  src = "file://schema.hcl"
  url = var.url
  dev = var.dev_url
  migration {
    dir          = "file://migrations"
    lock_timeout = "1s"
  }
  diff {
    skip {
      drop_schema = true
    }
    concurrent_index {
      add    = true
      create = true
      drop   = true
    }
  }
  format {
    migrate {
      apply = "{{ json . }}"
    }
  }
  lint {
    destructive {
      error = true
    }
    concurrent_index {
      error = true
    }
  }
}
`

// project is a temporary project directory: atlas.hcl, the repository's
// schema.hcl and, when withMigrations, a copy of its migrations.
type testProject struct {
	dir    string
	url    string
	devURL string
}

func newProject(t *testing.T, withMigrations bool) *testProject {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "atlas.hcl"), testAtlasHCL)
	copyFile(t, "../schema.hcl", filepath.Join(dir, "schema.hcl"))
	if err := os.Mkdir(filepath.Join(dir, "migrations"), 0o755); err != nil {
		t.Fatal(err)
	}
	if withMigrations {
		entries, err := os.ReadDir("../migrations")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			copyFile(t, filepath.Join("../migrations", e.Name()), filepath.Join(dir, "migrations", e.Name()))
		}
	}
	return &testProject{dir: dir, url: newDatabase(t, "db"), devURL: newDatabase(t, "dev")}
}

// laterVersion names a migration that comes after every one of the
// project's, as the next file a developer adds does (a version between two
// of them would make the latest file another one).
const laterVersion = "29990101000000"

// projectVersions lists the versions of the project's migrations, oldest
// first: tests derive what they expect from the files, so a new migration
// does not make them stale.
func projectVersions(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("../migrations")
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			versions = append(versions, strings.SplitN(e.Name(), "_", 2)[0])
		}
	}
	return versions
}

// countIn counts the occurrences of substr in a project file.
func countIn(t *testing.T, path, substr string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), substr)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}

// addMigration writes a migration file and rehashes the directory.
func (p *testProject) addMigration(t *testing.T, name, content string) {
	t.Helper()
	writeFile(t, filepath.Join(p.dir, "migrations", name), content)
	if r := p.engine(t, "migrate", "hash"); r.code != 0 {
		t.Fatalf("migrate hash: %s", r.stdout)
	}
}

// result of one engine run.
type result struct {
	code   int
	stdout string
	stderr string
}

// json decodes stdout into v and fails when it is not one JSON document.
func (r result) json(t *testing.T, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not JSON (%v): %s", err, r.stdout)
	}
	if dec.More() {
		t.Fatalf("stdout has more than one JSON document: %s", r.stdout)
	}
}

type errorDoc struct {
	Error map[string]any `json:"error"`
}

// failure decodes a failure document and checks its reason.
func (r result) failure(t *testing.T, reason string) map[string]any {
	t.Helper()
	var doc errorDoc
	r.json(t, &doc)
	if doc.Error == nil || doc.Error["reason"] != reason {
		t.Fatalf("want a %s failure, got exit %d: %s", reason, r.code, r.stdout)
	}
	return doc.Error
}

// engine runs the engine with --format json in the project directory, with
// DATABASE_URL and ATLAS_DEV_URL in its environment only.
func (p *testProject) engine(t *testing.T, args ...string) result {
	t.Helper()
	return runEngine(t, p.dir, map[string]string{"DATABASE_URL": p.url, "ATLAS_DEV_URL": p.devURL}, "", append(args, "--format", "json")...)
}

func runEngine(t *testing.T, dir string, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ENGINE_TEST_AS_MAIN=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("run engine: %v", err)
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %d\nstdout: %s\nstderr: %s", code, r.code, r.stdout, r.stderr)
	}
}
