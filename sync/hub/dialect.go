package hub

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver, through database/sql
	"github.com/mattn/go-sqlite3"
)

// The hub runs on SQLite (one file, the embedded default) or on PostgreSQL (several hub
// processes on one database). Every query is written once, with `?` placeholders and
// SQL both databases speak; what differs lives in dialect, and the handles below apply
// it to every statement, so code in this package never branches on the database.

// dialect is what differs between the two databases.
type dialect struct {
	postgres bool
}

var (
	sqliteDialect   = &dialect{}
	postgresDialect = &dialect{postgres: true}
)

func (d *dialect) String() string {
	if d.postgres {
		return "postgres"
	}
	return "sqlite"
}

// writers is how many group commits a hub runs at once.
func (d *dialect) writers() int {
	if d.postgres {
		return postgresWriters
	}
	return 1
}

// postgresWriters are a hub's concurrent transactions on PostgreSQL: while one group
// waits for its commit (round trips, the WAL flush) the next is being written.
const postgresWriters = 4

// IsPostgres says whether a --db value names a PostgreSQL database (a postgres:// or
// postgresql:// URL) rather than a SQLite file.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Redact returns a --db value fit for logs and errors: a PostgreSQL URL without its
// password, a file path as it is.
func Redact(db string) string {
	if !IsPostgres(db) {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// rebind turns the `?` placeholders of q into PostgreSQL's $1, $2, …; `?` inside quoted
// strings and identifiers is left alone. SQLite takes q as it is.
func (d *dialect) rebind(q string) string {
	if !d.postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// retryable says whether err is a transient conflict between concurrent writers (a
// serialization failure or a deadlock on PostgreSQL, a busy database on SQLite): the
// transaction was rolled back whole and may be run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked
	}
	return false
}

// sqlDB is a database pool that speaks the hub's dialect: every statement is rebound.
type sqlDB struct {
	*sql.DB
	d *dialect
}

func (db *sqlDB) Exec(q string, args ...any) (sql.Result, error) {
	return db.DB.Exec(db.d.rebind(q), args...)
}

func (db *sqlDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.DB.ExecContext(ctx, db.d.rebind(q), args...)
}

func (db *sqlDB) Query(q string, args ...any) (*sql.Rows, error) {
	return db.DB.Query(db.d.rebind(q), args...)
}

func (db *sqlDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.DB.QueryContext(ctx, db.d.rebind(q), args...)
}

func (db *sqlDB) QueryRow(q string, args ...any) *sql.Row {
	return db.DB.QueryRow(db.d.rebind(q), args...)
}

func (db *sqlDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return db.DB.QueryRowContext(ctx, db.d.rebind(q), args...)
}

func (db *sqlDB) Prepare(q string) (*sql.Stmt, error) {
	return db.DB.Prepare(db.d.rebind(q))
}

func (db *sqlDB) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return db.DB.PrepareContext(ctx, db.d.rebind(q))
}

func (db *sqlDB) Begin() (*sqlTx, error) {
	return db.BeginTx(context.Background(), nil)
}

func (db *sqlDB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sqlTx, error) {
	tx, err := db.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &sqlTx{Tx: tx, d: db.d}, nil
}

// sqlTx is a transaction that speaks the hub's dialect.
type sqlTx struct {
	*sql.Tx
	d *dialect
}

func (tx *sqlTx) Exec(q string, args ...any) (sql.Result, error) {
	return tx.Tx.Exec(tx.d.rebind(q), args...)
}

func (tx *sqlTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.Tx.ExecContext(ctx, tx.d.rebind(q), args...)
}

func (tx *sqlTx) Query(q string, args ...any) (*sql.Rows, error) {
	return tx.Tx.Query(tx.d.rebind(q), args...)
}

func (tx *sqlTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.Tx.QueryContext(ctx, tx.d.rebind(q), args...)
}

func (tx *sqlTx) QueryRow(q string, args ...any) *sql.Row {
	return tx.Tx.QueryRow(tx.d.rebind(q), args...)
}

func (tx *sqlTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.Tx.QueryRowContext(ctx, tx.d.rebind(q), args...)
}

func (tx *sqlTx) Prepare(q string) (*sql.Stmt, error) {
	return tx.Tx.Prepare(tx.d.rebind(q))
}

func (tx *sqlTx) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return tx.Tx.PrepareContext(ctx, tx.d.rebind(q))
}
