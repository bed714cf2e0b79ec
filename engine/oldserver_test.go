//go:build oldserver

// The refusal of a server older than PostgreSQL 14, run on demand against
// one (e.g. the embedded-postgres 13.23 binaries):
//
//	ENGINE_TEST_PG13_URL=postgres://postgres@127.0.0.1:55413/postgres?sslmode=disable go test -tags oldserver -run Unsupported ./...
package main

import (
	"os"
	"regexp"
	"testing"
)

func TestUnsupportedServerNamesItsVersion(t *testing.T) {
	old := os.Getenv("ENGINE_TEST_PG13_URL")
	if old == "" {
		t.Fatal("ENGINE_TEST_PG13_URL must name a PostgreSQL 13 server for this test")
	}
	p := newProject(t, true)
	for _, args := range [][]string{{"schema", "apply"}, {"migrate", "apply"}, {"migrate", "status"}} {
		r := runEngine(t, p.dir, map[string]string{"DATABASE_URL": old, "ATLAS_DEV_URL": p.devURL}, "", append(args, "--format", "json")...)
		wantCode(t, r, 1)
		e := r.failure(t, reasonUnsupportedServer)
		if !regexp.MustCompile(`^PostgreSQL 13\.\d+ is not supported: the engine needs PostgreSQL 14 or newer$`).MatchString(e["message"].(string)) {
			t.Fatalf("%v: %q", args, e["message"])
		}
	}
}
