package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// served is a running `migrate serve`: requests in, answers out, line by line.
type served struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  *bufio.Scanner
	cancel context.CancelFunc
}

// serve starts `migrate serve` in the project directory with no database in
// its environment: every URL reaches it on stdin.
func (p *testProject) serve(t *testing.T) *served {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, self, "migrate", "serve", "--format", "json")
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "ENGINE_TEST_AS_MAIN=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &served{t: t, cmd: cmd, stdin: stdin, lines: bufio.NewScanner(stdout), cancel: cancel}
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait(); cancel() })
	return s
}

func (s *served) send(request map[string]any) {
	s.t.Helper()
	b, _ := json.Marshal(request)
	if _, err := s.stdin.Write(append(b, '\n')); err != nil {
		s.t.Fatalf("write request: %v", err)
	}
}

// next is the next answer line, decoded.
func (s *served) next() map[string]any {
	s.t.Helper()
	if !s.lines.Scan() {
		s.t.Fatalf("no answer: %v", s.lines.Err())
	}
	var answer map[string]any
	if err := json.Unmarshal(s.lines.Bytes(), &answer); err != nil {
		s.t.Fatalf("an answer is not JSON (%v): %s", err, s.lines.Text())
	}
	return answer
}

// close ends stdin and gives the exit code.
func (s *served) close() int {
	s.t.Helper()
	_ = s.stdin.Close()
	err := s.cmd.Wait()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode()
	}
	if err != nil {
		s.t.Fatalf("wait: %v", err)
	}
	return 0
}

// decodeInto re-decodes part of an answer into a typed result.
func decodeInto(t *testing.T, v any, into any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// versions are the project's migration versions, oldest first.
func (p *testProject) versions(t *testing.T) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(p.dir, "migrations", "*.sql"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	var versions []string
	for _, n := range names {
		versions = append(versions, strings.SplitN(filepath.Base(n), "_", 2)[0])
	}
	return versions
}

func backendsOn(t *testing.T, rawURL string) int {
	t.Helper()
	u, _ := url.Parse(rawURL)
	return queryInt(t, adminURL(), `SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, strings.TrimPrefix(u.Path, "/"))
}

func TestMigrateServeWorksOnManyDatabasesAtOnce(t *testing.T) {
	t.Parallel()
	p := newProject(t, true)
	versions := p.versions(t)
	urls := []string{p.url, newDatabase(t, "serve"), newDatabase(t, "serve")}
	s := p.serve(t)
	for i, u := range urls {
		s.send(map[string]any{"id": fmt.Sprintf("apply-%d", i), "verb": "apply", "url": u})
	}
	s.send(map[string]any{"id": "odd", "verb": "drop"})
	answers := map[string]map[string]any{}
	for range len(urls) + 1 {
		a := s.next()
		answers[a["id"].(string)] = a
	}
	if e, ok := answers["odd"]["error"].(map[string]any); !ok || e["reason"] != reasonUsage {
		t.Fatalf("an unknown verb should be a Usage error: %+v", answers["odd"])
	}
	for i, u := range urls {
		var applied migrateApplyResult
		decodeInto(t, answers[fmt.Sprintf("apply-%d", i)]["result"], &applied)
		if len(applied.Applied) != len(versions) || applied.Current != versions[len(versions)-1] {
			t.Fatalf("database %d: want every file applied: %+v", i, answers[fmt.Sprintf("apply-%d", i)])
		}
		if n := queryInt(t, u, `SELECT count(*) FROM atlas_schema_revisions.atlas_schema_revisions`); n != len(versions) {
			t.Fatalf("database %d has %d revisions", i, n)
		}
	}
	s.send(map[string]any{"id": "status", "verb": "status", "url": urls[1]})
	var status migrateStatusResult
	decodeInto(t, s.next()["result"], &status)
	if status.Current != versions[len(versions)-1] || len(status.Pending) != 0 || status.Applied != len(versions) {
		t.Fatalf("status after apply: %+v", status)
	}
	if code := s.close(); code != 0 {
		t.Fatalf("end of stdin should exit 0, got %d", code)
	}
}

// A confirmed apply: the status under the lock, on the one connection it
// applies with, then nothing until proceed.
func TestMigrateServeConfirmedApplyWaitsForProceedOnOneConnection(t *testing.T) {
	t.Parallel()
	p := newProject(t, true)
	versions := p.versions(t)
	s := p.serve(t)
	s.send(map[string]any{"id": "1", "verb": "apply", "url": p.url, "confirm": true})
	first := s.next()
	var before migrateStatusResult
	decodeInto(t, first["status"], &before)
	if first["id"] != "1" || before.Current != "" || len(before.Pending) != len(versions) {
		t.Fatalf("want the status first: %+v", first)
	}
	h := fnv.New32()
	h.Write([]byte(applyLockName))
	u, _ := url.Parse(p.url)
	if n := queryInt(t, adminURL(), `SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
		WHERE l.locktype = 'advisory' AND l.objid::bigint = $1 AND d.datname = $2`, int64(h.Sum32()), strings.TrimPrefix(u.Path, "/")); n != 1 {
		t.Fatalf("the status should be read under the lock (%d advisory locks held)", n)
	}
	if n := backendsOn(t, p.url); n != 1 {
		t.Fatalf("a confirmed apply should hold one connection, holds %d", n)
	}
	if n := queryInt(t, p.url, `SELECT count(*) FROM pg_namespace WHERE nspname = 'control_plane'`); n != 0 {
		t.Fatal("applied before proceed")
	}
	s.send(map[string]any{"id": "1", "proceed": true})
	var applied migrateApplyResult
	decodeInto(t, s.next()["result"], &applied)
	if len(applied.Applied) != len(versions) || applied.Current != versions[len(versions)-1] {
		t.Fatalf("want every file applied after proceed: %+v", applied)
	}
	// Nothing pending: the status, then the result straight away.
	s.send(map[string]any{"id": "2", "verb": "apply", "url": p.url, "confirm": true})
	var again migrateStatusResult
	decodeInto(t, s.next()["status"], &again)
	result := s.next()
	if len(again.Pending) != 0 || result["id"] != "2" || result["result"] == nil {
		t.Fatalf("an up-to-date database should not wait for proceed: %+v then %+v", again, result)
	}
}

func TestMigrateServeCancelStopsARequestAndReleasesTheLock(t *testing.T) {
	t.Parallel()
	p := newProject(t, true)
	s := p.serve(t)
	s.send(map[string]any{"id": "1", "verb": "apply", "url": p.url, "confirm": true})
	if s.next()["status"] == nil {
		t.Fatal("want the status first")
	}
	s.send(map[string]any{"id": "1", "cancel": true})
	if e, ok := s.next()["error"].(map[string]any); !ok || !strings.Contains(e["message"].(string), "cancelled") {
		t.Fatal("a cancelled request should be answered with an error")
	}
	if n := queryInt(t, p.url, `SELECT count(*) FROM pg_namespace WHERE nspname = 'control_plane'`); n != 0 {
		t.Fatal("a cancelled apply applied something")
	}
	// The lock went with it: the next apply gets it at once.
	s.send(map[string]any{"id": "2", "verb": "apply", "url": p.url})
	var applied migrateApplyResult
	decodeInto(t, s.next()["result"], &applied)
	if len(applied.Applied) != len(p.versions(t)) {
		t.Fatalf("want every file applied: %+v", applied)
	}
	// End of stdin with a request in flight: it is cancelled and the engine exits.
	s.send(map[string]any{"id": "3", "verb": "apply", "url": newDatabase(t, "serve"), "confirm": true})
	if s.next()["status"] == nil {
		t.Fatal("want the status first")
	}
	_ = s.stdin.Close()
	if e, ok := s.next()["error"].(map[string]any); !ok || e["reason"] != reasonInternal {
		t.Fatal("a request in flight at end of stdin should be answered as cancelled")
	}
	if code := s.close(); code != 0 {
		t.Fatalf("want exit 0, got %d", code)
	}
}

func TestMigrateServeRefusesToStartOnAChecksumMismatch(t *testing.T) {
	t.Parallel()
	p := newProject(t, true)
	path := filepath.Join(p.dir, "migrations", "20261127114824_seed_system_admin.sql")
	b, _ := os.ReadFile(path)
	writeFile(t, path, string(b)+"\n-- edited after review\n")
	s := p.serve(t)
	first := s.next()
	if e, ok := first["error"].(map[string]any); !ok || e["reason"] != reasonChecksumMismatch || first["id"] != nil {
		t.Fatalf("want one ChecksumMismatch document without an id: %+v", first)
	}
	if code := s.close(); code != 1 {
		t.Fatalf("want exit 1, got %d", code)
	}
}
