package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync"

	"ariga.io/atlas/sql/migrate"
)

// migrate serve is the engine as a co-process of a fleet run: one process for
// many databases instead of one (or two) per database. Starting a Go program,
// evaluating atlas.hcl and reading the migration directory cost more CPU than
// a small migration itself; here they are paid once per run.
//
// At start it evaluates atlas.hcl's env, opens env.migration.dir, checks
// atlas.sum and keeps the files in memory: every request of the run sees that
// one directory. A failure there is the usual single failure document and
// exit 1, before any request is read.
//
// Then it reads one request per line on stdin:
//
//	{"id":"<any string>","verb":"status"|"apply","url":"postgres://..."}
//	{"id":"<any string>","verb":"apply","url":"postgres://...","confirm":true}
//	{"id":"<id of a confirmed apply>","proceed":true}
//	{"id":"<id of a request in flight>","cancel":true}
//
// url is what getenv("DATABASE_URL") gives atlas.hcl for that request (the
// env is evaluated again per request, so a url composed in atlas.hcl is
// composed the same way); the connection string never appears on the command
// line. Each request runs in a goroutine of its own, so the caller decides
// how many run at once, and is answered with one line, in completion order:
//
//	{"id":"...","result":{...}}   the document of migrate status / migrate apply
//	{"id":"...","error":{"reason":"...","message":"...",...}}
//
// status and apply do exactly what the one-shot verbs do (apply takes the
// advisory lock and keeps the revision table; status writes nothing), each on
// one connection. A confirmed apply first answers, once it holds the lock,
//
//	{"id":"...","status":{...}}   the document of migrate status, read under the lock
//
// and, when files are pending, applies them only after the caller's proceed
// (a fleet run records the version before in between, so that a run killed
// during the apply still knows it); with nothing pending it goes straight on
// to its result. So one connection, one lock and one request do what a
// status then an apply did with three connections. A
// cancelled request stops where it is (its transaction rolls back) and is
// answered with an error. A line that is not a request is answered with a
// Usage error (id "" when it has none). End of stdin cancels whatever is
// still in flight (the caller has gone), waits for it, and exits 0.
func migrateServe(ctx context.Context, inv *invocation, stdin io.Reader, stdout io.Writer) error {
	if inv.format != "json" {
		return usage("migrate serve speaks JSON lines only: pass --format json")
	}
	base, err := loadConfig(inv.config, inv.env)
	if err != nil {
		return err
	}
	dir, err := snapshotMigrationDir(base)
	if err != nil {
		return err
	}
	s := &server{config: inv.config, env: inv.env, dirPath: base.MigrationDir, dir: dir, out: stdout,
		inFlight: map[string]*flight{}}
	ctx, cancelAll := context.WithCancel(ctx)
	defer cancelAll()
	lines := bufio.NewScanner(stdin)
	lines.Buffer(make([]byte, 64*1024), 1024*1024)
	for lines.Scan() {
		s.take(ctx, lines.Bytes())
	}
	cancelAll()
	s.wg.Wait()
	if err := lines.Err(); err != nil {
		return usage("a request line cannot be read: %s", sentence(err.Error()))
	}
	return nil
}

// serveRequest is one line of stdin.
type serveRequest struct {
	ID      string `json:"id"`
	Verb    string `json:"verb"`
	URL     string `json:"url"`
	Confirm bool   `json:"confirm"`
	Proceed bool   `json:"proceed"`
	Cancel  bool   `json:"cancel"`
}

// flight is a request being worked on.
type flight struct {
	cancel  context.CancelFunc
	proceed chan struct{} // a confirmed apply waits on it
}

type server struct {
	config, env string
	dirPath     string
	dir         migrate.Dir
	out         io.Writer
	outMu       sync.Mutex
	inFlight    map[string]*flight
	inFlightMu  sync.Mutex
	wg          sync.WaitGroup
}

// snapshotMigrationDir opens env.migration.dir, checks atlas.sum and copies
// the files and atlas.sum into memory.
func snapshotMigrationDir(c *config) (migrate.Dir, error) {
	local, err := openMigrationDir(c, true)
	if err != nil {
		return nil, err
	}
	files, err := local.Files()
	if err != nil {
		return nil, asEngineError(err)
	}
	sum, err := os.ReadFile(filepath.Join(c.MigrationDir, migrate.HashFileName))
	if err != nil {
		return nil, fail(reasonChecksumMismatch, "atlas.sum cannot be read: %v", unwrapPathError(err)).with("file", migrate.HashFileName)
	}
	mem := &migrate.MemDir{}
	mem.SetPath(c.MigrationDir)
	for _, f := range files {
		if err := mem.WriteFile(f.Name(), f.Bytes()); err != nil {
			return nil, asEngineError(err)
		}
	}
	if err := mem.WriteFile(migrate.HashFileName, sum); err != nil {
		return nil, asEngineError(err)
	}
	return mem, nil
}

// take starts the request on one line, or cancels the one it names.
func (s *server) take(ctx context.Context, line []byte) {
	var req serveRequest
	if err := json.Unmarshal(line, &req); err != nil {
		s.answer(req.ID, nil, usage(`a request must be one JSON object per line: {"id","verb","url"} or {"id","cancel":true}`))
		return
	}
	s.inFlightMu.Lock()
	defer s.inFlightMu.Unlock()
	running, busy := s.inFlight[req.ID]
	switch {
	case req.Cancel:
		if busy {
			running.cancel()
		}
		return
	case req.Proceed:
		if busy {
			select {
			case running.proceed <- struct{}{}:
			default:
			}
		}
		return
	case req.ID == "":
		s.answer("", nil, usage("a request needs an id"))
		return
	case busy:
		s.answer(req.ID, nil, usage("request %q is already in flight", req.ID))
		return
	case req.Verb != "status" && req.Verb != "apply":
		s.answer(req.ID, nil, usage("unknown request verb %q: expected status or apply", req.Verb))
		return
	}
	reqCtx, cancel := context.WithCancel(ctx)
	running = &flight{cancel: cancel, proceed: make(chan struct{}, 1)}
	s.inFlight[req.ID] = running
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		result, err := s.serve(reqCtx, req, running)
		if err != nil && reqCtx.Err() != nil {
			err = fail(reasonInternal, "the request was cancelled before it finished")
		}
		s.inFlightMu.Lock()
		delete(s.inFlight, req.ID)
		s.inFlightMu.Unlock()
		cancel()
		s.answer(req.ID, result, err)
	}()
}

// serve runs one request as its one-shot verb would, on the snapshot.
func (s *server) serve(ctx context.Context, req serveRequest, running *flight) (any, error) {
	lookup := func(key string) string {
		if key == "DATABASE_URL" {
			return req.URL
		}
		return os.Getenv(key)
	}
	c, err := loadConfigWith(s.config, s.env, lookup)
	if err != nil {
		return nil, err
	}
	if c.MigrationDir != s.dirPath {
		return nil, fail(reasonConfigInvalid, "env %q of %s names another migration directory for this url: migrate serve works on one directory", c.Env, filepath.Base(c.File))
	}
	if req.Verb == "apply" {
		var confirm func(*migrateStatusResult) error
		if req.Confirm {
			confirm = func(status *migrateStatusResult) error {
				s.write(map[string]any{"id": req.ID, "status": status})
				if len(status.Pending) == 0 {
					return nil
				}
				select {
				case <-running.proceed:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		return applyDirectory(ctx, c, s.dir, false, confirm)
	}
	return directoryStatus(ctx, c, s.dir)
}

// answer writes one line: the result, or the failure as report would word it.
func (s *server) answer(id string, result any, err error) {
	line := map[string]any{"id": id}
	if err != nil {
		line["error"] = asEngineError(err).document()
	} else {
		line["result"] = result
	}
	s.write(line)
}

// write puts one line on stdout.
func (s *server) write(line map[string]any) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	writeJSON(s.out, line)
}
