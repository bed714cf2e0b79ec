package main

import (
	"context"
	"database/sql"
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
	// Exec is where migrate apply and status work: the pool, or after pin
	// one connection of it.
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

// pin makes every later statement of Exec and Driver (the advisory lock
// included) run on one connection, so that migrate apply costs the server one
// backend, not one for the lock and one for the migrations. The connection
// goes back with Close.
func (d *database) pin(ctx context.Context) error {
	conn, err := d.DB.Conn(ctx)
	if err != nil {
		return asEngineError(err)
	}
	drv, err := postgres.Open(conn)
	if err != nil {
		_ = conn.Close()
		return asEngineError(err)
	}
	pgDrv, ok := drv.(*postgres.Driver)
	if !ok {
		_ = conn.Close()
		return fail(reasonUnsupportedServer, "the server is not PostgreSQL (CockroachDB is not supported)")
	}
	d.Driver, d.Exec, d.pinned = pgDrv, conn, conn
	return nil
}

// connect opens the database at rawURL, checks that the server is supported
// and wraps it in Atlas's PostgreSQL driver. role names the database in
// messages ("database", "dev database"), never its URL.
func connect(ctx context.Context, rawURL string) (*database, error) {
	rememberSecret(rawURL)
	db, err := sql.Open("postgres", rawURL)
	if err != nil {
		// lib/pq parses lazily; an error here is a malformed URL, which the
		// driver quotes: never pass its text on.
		return nil, fail(reasonConfigInvalid, "the connection string is not a valid postgres:// URL")
	}
	pingCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	var num int
	var version string
	row := db.QueryRowContext(pingCtx, "SELECT current_setting('server_version_num')::int, current_setting('server_version')")
	if err := row.Scan(&num, &version); err != nil {
		_ = db.Close()
		if ce := connectionError(err); ce != nil {
			return nil, ce
		}
		if pingCtx.Err() != nil {
			return nil, fail(reasonServerUnreachable, "the database server did not answer within %s", connectTimeout)
		}
		if strings.Contains(err.Error(), "invalid") || strings.Contains(err.Error(), "parse") {
			return nil, fail(reasonConfigInvalid, "the connection string is not a valid postgres:// URL")
		}
		return nil, asEngineError(err)
	}
	version = strings.Fields(version)[0]
	if num < minServerVersion {
		_ = db.Close()
		return nil, fail(reasonUnsupportedServer, "PostgreSQL %s is not supported: the engine needs PostgreSQL 14 or newer", version).with("serverVersion", version)
	}
	drv, err := postgres.Open(db)
	if err != nil {
		_ = db.Close()
		return nil, asEngineError(err)
	}
	pgDrv, ok := drv.(*postgres.Driver)
	if !ok {
		_ = db.Close()
		return nil, fail(reasonUnsupportedServer, "the server is not PostgreSQL (CockroachDB is not supported)")
	}
	return &database{DB: db, Driver: pgDrv, Version: version, Exec: db}, nil
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
