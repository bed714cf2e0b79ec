package main

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"time"

	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	_ "github.com/lib/pq" // registers the "postgres" database/sql driver Atlas opens
)

// minServerVersion is the oldest PostgreSQL the engine accepts (14.0).
const minServerVersion = 140000

// connectTimeout bounds reaching a server: a black-holed address fails in
// seconds rather than hanging the caller.
const connectTimeout = 10 * time.Second

// database is an open connection pool with its Atlas driver.
type database struct {
	DB      *sql.DB
	Driver  *postgres.Driver
	Version string // e.g. "18.4"
	// Exec is where migrate apply and status work: the pool, or one
	// connection of it (connectPinned).
	Exec   execer
	pinned *sql.Conn
}

// execer is a pool or one connection of it: both run statements and transactions.
type execer interface {
	schema.ExecQuerier
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

func (d *database) Close() {
	if d.pinned != nil {
		_ = d.pinned.Close()
	}
	_ = d.DB.Close()
}

// connect opens the database at rawURL, checks that the server is supported
// and wraps it in Atlas's PostgreSQL driver. role names the database in
// messages ("database", "dev database"), never its URL.
func connect(ctx context.Context, rawURL string) (*database, error) {
	db, version, err := openChecked(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	pgDrv, err := driverOn(db)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return &database{DB: db, Driver: pgDrv, Version: version, Exec: db}, nil
}

// connectPinned is connect with every statement of Exec and Driver (the
// advisory lock included) on one connection, so that migrate apply costs the
// server one backend, not one for the lock and one for the migrations. The
// connection goes back with Close.
func connectPinned(ctx context.Context, rawURL string) (*database, error) {
	rememberSecret(rawURL)
	db, version, err := openChecked(ctx, withBinaryParameters(rawURL))
	if err != nil {
		return nil, err
	}
	// The connection the check used, idle in the pool: no second backend.
	conn, err := db.Conn(ctx)
	if err != nil {
		_ = db.Close()
		return nil, asEngineError(err)
	}
	pgDrv, err := driverOn(conn)
	if err != nil {
		_ = conn.Close()
		_ = db.Close()
		return nil, err
	}
	return &database{DB: db, Driver: pgDrv, Version: version, Exec: conn, pinned: conn}, nil
}

// withBinaryParameters asks lib/pq to send a statement with parameters in
// one round trip (Parse, Bind, Execute together) instead of preparing it
// first: the revision table's reads and writes, the lock. Only []byte values
// would change form (sent as binary), and the apply path passes none. A URL
// that sets the option, or is not a postgres:// URL, is left as it is.
func withBinaryParameters(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Query().Has("binary_parameters") {
		return rawURL
	}
	q := u.Query()
	q.Set("binary_parameters", "yes")
	u.RawQuery = q.Encode()
	return u.String()
}

// openChecked opens a pool on rawURL and checks, on its first connection,
// that the server answers and is supported.
func openChecked(ctx context.Context, rawURL string) (*sql.DB, string, error) {
	rememberSecret(rawURL)
	db, err := sql.Open("postgres", rawURL)
	if err != nil {
		// lib/pq parses lazily; an error here is a malformed URL, which the
		// driver quotes: never pass its text on.
		return nil, "", fail(reasonConfigInvalid, "the connection string is not a valid postgres:// URL")
	}
	pingCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	var num int
	var version string
	row := db.QueryRowContext(pingCtx, "SELECT current_setting('server_version_num')::int, current_setting('server_version')")
	if err := row.Scan(&num, &version); err != nil {
		_ = db.Close()
		if ce := connectionError(err); ce != nil {
			return nil, "", ce
		}
		if pingCtx.Err() != nil {
			return nil, "", fail(reasonServerUnreachable, "the database server did not answer within %s", connectTimeout)
		}
		if strings.Contains(err.Error(), "invalid") || strings.Contains(err.Error(), "parse") {
			return nil, "", fail(reasonConfigInvalid, "the connection string is not a valid postgres:// URL")
		}
		return nil, "", asEngineError(err)
	}
	version = strings.Fields(version)[0]
	if num < minServerVersion {
		_ = db.Close()
		return nil, "", fail(reasonUnsupportedServer, "PostgreSQL %s is not supported: the engine needs PostgreSQL 14 or newer", version).with("serverVersion", version)
	}
	return db, version, nil
}

// driverOn is Atlas's PostgreSQL driver on a pool or a connection.
func driverOn(conn schema.ExecQuerier) (*postgres.Driver, error) {
	drv, err := postgres.Open(conn)
	if err != nil {
		return nil, asEngineError(err)
	}
	pgDrv, ok := drv.(*postgres.Driver)
	if !ok {
		return nil, fail(reasonUnsupportedServer, "the server is not PostgreSQL (CockroachDB is not supported)")
	}
	return pgDrv, nil
}

// connectBoth opens the target and the dev database.
func connectBoth(ctx context.Context, c *config) (*database, *database, error) {
	target, err := c.requireURL()
	if err != nil {
		return nil, nil, err
	}
	devURL, err := c.requireDevURL()
	if err != nil {
		return nil, nil, err
	}
	db, err := connect(ctx, target)
	if err != nil {
		return nil, nil, err
	}
	dev, err := connect(ctx, devURL)
	if err != nil {
		db.Close()
		return nil, nil, aboutDev(err)
	}
	return db, dev, nil
}

// aboutDev says that a connection failure is the dev database's.
func aboutDev(err error) error {
	e := *asEngineError(err)
	e.Message = "dev database: " + e.Message
	return &e
}
