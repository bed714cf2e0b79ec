package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/lib/pq"
)

// Reasons are stable names: the TypeScript side maps each to a member of its
// tagged error's reason union. Add, never rename.
const (
	reasonUsage             = "Usage"
	reasonConfigInvalid     = "ConfigInvalid"
	reasonSchemaInvalid     = "SchemaInvalid"
	reasonServerUnreachable = "ServerUnreachable"
	reasonAuthFailed        = "AuthFailed"
	reasonUnsupportedServer = "UnsupportedServer"
	reasonPermissionDenied  = "PermissionDenied"
	reasonChecksumMismatch  = "ChecksumMismatch"
	reasonMigrationFailed   = "MigrationFailed"
	reasonPlanFailed        = "PlanFailed"
	reasonLockTimeout       = "LockTimeout"
	reasonDirtyDatabase     = "DirtyDatabase"
	reasonDevDatabaseNeeded = "DevDatabaseNeeded"
	reasonInternal          = "Internal"
)

// engineError is every failure the engine reports: a reason, one sentence,
// and optional machine-readable fields (version, file, sqlstate, ...).
type engineError struct {
	Reason  string
	Message string
	Fields  map[string]any
}

func (e *engineError) Error() string { return e.Message }

func fail(reason, format string, args ...any) *engineError {
	return &engineError{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func (e *engineError) with(key string, value any) *engineError {
	if e.Fields == nil {
		e.Fields = map[string]any{}
	}
	e.Fields[key] = value
	return e
}

// document is the failure as the JSON output carries it under "error":
// reason, message and the fields beside them.
func (e *engineError) document() map[string]any {
	body := map[string]any{"reason": e.Reason, "message": e.Message}
	for k, v := range e.Fields {
		body[k] = v
	}
	return body
}

func usage(format string, args ...any) *engineError {
	return fail(reasonUsage, format, args...)
}

// asEngineError turns any error into an engineError. Errors that are already
// classified pass through; database errors are classified by SQLSTATE or by
// the network error under them; anything else is Internal, scrubbed.
func asEngineError(err error) *engineError {
	var ee *engineError
	if errors.As(err, &ee) {
		return ee
	}
	if ce := connectionError(err); ce != nil {
		return ce
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fail(reasonServerUnreachable, "the database server did not answer in time")
	}
	return fail(reasonInternal, "%s", sentence(scrub(err.Error())))
}

// connectionError classifies the errors of reaching and logging in to a
// server. The sentences never quote the driver, whose dial errors name the
// host and port of the connection string.
func connectionError(err error) *engineError {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fail(reasonServerUnreachable, "the database host name does not resolve")
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		if opErr.Timeout() {
			return fail(reasonServerUnreachable, "the database server did not answer in time")
		}
		return fail(reasonServerUnreachable, "the database server refused the connection or cannot be reached")
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code {
		case "28P01", "28000":
			return fail(reasonAuthFailed, "the database server rejected the login (%s)", pqErr.Message).with("sqlstate", string(pqErr.Code))
		case "3D000":
			return fail(reasonServerUnreachable, "%s", sentence(pqErr.Message)).with("sqlstate", string(pqErr.Code))
		case "42501":
			return fail(reasonPermissionDenied, "%s", sentence(pqErr.Message)).with("sqlstate", string(pqErr.Code))
		case "57P03", "53300":
			return fail(reasonServerUnreachable, "the database server is not accepting connections (%s)", pqErr.Message).with("sqlstate", string(pqErr.Code))
		}
	}
	if strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host") {
		return fail(reasonServerUnreachable, "the database server refused the connection or cannot be reached")
	}
	return nil
}

// sqlState returns the SQLSTATE of a server error, or "".
func sqlState(err error) string {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return string(pqErr.Code)
	}
	return ""
}

// serverMessage returns what the server said (without the driver's prefix
// and without DETAIL, which can quote row values), or the error text.
func serverMessage(err error) string {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Message
	}
	return scrub(err.Error())
}

var (
	urlPattern      = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"']+`)
	passwordPattern = regexp.MustCompile(`(?i)(password\s*=\s*)('[^']*'|\S+)`)
	hostPortPattern = regexp.MustCompile(`\b(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]|localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+):\d{2,5}\b`)
	// secrets holds the connection strings of this run and their parts, so
	// that even an unusual quoting of one is caught; under secretsMu, as
	// `migrate serve` works on several databases at once.
	secrets   []string
	secretsMu sync.RWMutex
)

// rememberSecret registers a connection string whose URL, password and
// host:port must never reach a message.
func rememberSecret(raw string) {
	if raw == "" {
		return
	}
	secretsMu.Lock()
	defer secretsMu.Unlock()
	if contains(secrets, raw) {
		return
	}
	secrets = append(secrets, raw)
	if u, err := url.Parse(raw); err == nil {
		if p, ok := u.User.Password(); ok && p != "" {
			secrets = append(secrets, p, url.QueryEscape(p))
		}
		if u.Port() != "" {
			secrets = append(secrets, u.Host)
		}
	}
}

// scrub removes URLs, passwords and host:port pairs from a message.
func scrub(s string) string {
	secretsMu.RLock()
	defer secretsMu.RUnlock()
	for _, secret := range secrets {
		if len(secret) >= 3 {
			s = strings.ReplaceAll(s, secret, "<redacted>")
		}
	}
	s = urlPattern.ReplaceAllString(s, "<url>")
	s = passwordPattern.ReplaceAllString(s, "${1}<redacted>")
	return hostPortPattern.ReplaceAllString(s, "<server>")
}

// sentence makes one line of a message: first line only, no trailing period
// doubling.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

// firstLine returns a statement's first line, shortened: what a message may
// show of SQL (the rest may carry values).
func firstLine(stmt string) string {
	line := sentence(stmt)
	if len(line) > 120 {
		line = line[:119] + "…"
	}
	return line
}
