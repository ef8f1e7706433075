package store

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
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
// waits for its commit (round trips, the WAL flush) the next is being written. Two, not
// four: with four the groups were smaller (each statement's fixed cost, its planning
// above all, spread over fewer pushes) and the loops waited on each other's rows;
// measured on the 2-core machine, two cost 8 % less CPU per push and sustained more.
// Several hubs on one database add theirs.
const postgresWriters = 2

// postgresConfig is the connection of a hub's pools: the DSN's, with every statement
// planned for its parameters. The driver prepares each statement once per connection,
// and after five runs PostgreSQL may switch to one generic plan: for the writer's
// statements, which take whole arrays of rows, a generic plan guesses their size and
// hashes a scan of the whole counters table where a custom one looks up each row by its
// key (measured: 13,000 buffers read per group against 2,300).
func postgresConfig(db string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(db)
	if err != nil {
		return nil, err
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	if _, set := cfg.RuntimeParams["plan_cache_mode"]; !set {
		cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	return cfg, nil
}

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
	if errors.Is(err, errRowAppeared) {
		return true
	}
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
	// traced, when set (tests), is given every query run through QueryContext or
	// QueryRowContext, rebound, with its arguments.
	traced func(q string, args []any)
}

func (db *sqlDB) trace(q string, args []any) string {
	q = db.d.rebind(q)
	if db.traced != nil {
		db.traced(q, args)
	}
	return q
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
	return db.DB.QueryContext(ctx, db.trace(q, args), args...)
}

func (db *sqlDB) QueryRow(q string, args ...any) *sql.Row {
	return db.DB.QueryRow(db.d.rebind(q), args...)
}

func (db *sqlDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return db.DB.QueryRowContext(ctx, db.trace(q, args), args...)
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

// col is one column of the rows a statement takes whole (rowsCTE): its name and its
// values, text, or BIGINT when nums is set.
type col struct {
	name string
	text []string
	nums []int64
}

func textCol(name string, v []string) col { return col{name: name, text: v} }
func numCol(name string, v []int64) col   { return col{name: name, nums: v} }

func (c col) len() int { return max(len(c.text), len(c.nums)) }

// rowsCTE is the common table expression `name(columns) AS (…)` holding the rows whose
// columns cols are (all of one length), for a statement to join, insert from or
// compare with. SQLite gets a VALUES list, a parameter per cell; PostgreSQL one array per
// column, unnested: one statement text whatever the count (parsed and planned once per
// connection), and a relation the planner joins row by row through the primary key
// rather than hashing a scan of the table, which it did with a VALUES list of a few
// hundred rows.
func (d *dialect) rowsCTE(name string, cols ...col) (string, []any) {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	head := name + "(" + strings.Join(names, ", ") + ") AS "
	n := cols[0].len()
	if !d.postgres {
		args := make([]any, 0, n*len(cols))
		for r := range n {
			for _, c := range cols {
				if c.nums != nil {
					args = append(args, c.nums[r])
				} else {
					args = append(args, c.text[r])
				}
			}
		}
		return head + "(VALUES " + valuesSQL(n, len(cols)) + ")", args
	}
	args := make([]any, len(cols))
	casts := make([]string, len(cols))
	for i, c := range cols {
		if c.nums != nil {
			args[i], casts[i] = c.nums, "?::bigint[]"
		} else {
			args[i], casts[i] = c.text, "?::text[]"
		}
	}
	return head + "(SELECT * FROM unnest(" + strings.Join(casts, ", ") + "))", args
}

// maxArrayRows caps the rows of one statement that takes them as arrays (PostgreSQL).
const maxArrayRows = 4096

// rowBatches cuts n rows that rowsCTE passes whole into statements, yielding each
// one's first row and size. PostgreSQL takes them as arrays, one statement text
// whatever the count: as few statements as maxArrayRows allows (cut into power-of-two
// sizes as for SQLite, a group's rows took four or five statements, each a round trip,
// where one does). SQLite gets a parameter per cell: power-of-two sizes up to
// maxUpsertRows, so that its connections' cached statement texts stay a few dozen.
func (d *dialect) rowBatches(n int) func(yield func(int, int) bool) {
	if !d.postgres {
		return chunkStarts(n, maxUpsertRows)
	}
	return func(yield func(int, int) bool) {
		for done := 0; done < n; done += maxArrayRows {
			if !yield(done, min(maxArrayRows, n-done)) {
				return
			}
		}
	}
}

// keyLookup is a FROM clause that joins each row of keys to the rows of table (named
// alias) on, through an index, in the keys' order; rowRef(alias) is then where each
// row lies. SQLite: a join. PostgreSQL: a lookup per key (OFFSET 0 keeps the subquery
// from being flattened into a join, which the planner, with a new or growing table's
// statistics, ran as a hash join over a scan of every row held: 18,000 buffers a
// group, measured).
func (d *dialect) keyLookup(keys, table, alias, on string) string {
	if d.postgres {
		return keys + ", LATERAL (SELECT " + alias + ".*, " + alias + ".ctid AS row_ref FROM " + table + " " + alias +
			" WHERE " + on + " OFFSET 0) " + alias
	}
	return keys + " JOIN " + table + " " + alias + " ON " + on
}

// rowRef is, in a keyLookup's select list, where each row lies, as text: its ctid on
// PostgreSQL (which stays until the row is updated: only by the writer that holds its
// device's lock, lockDevices); nothing on SQLite, whose tables clustered by their key (WITHOUT ROWID) are
// reached through it.
func (d *dialect) rowRef(alias string) string {
	if d.postgres {
		return alias + ".row_ref::text"
	}
	return "''"
}

// sharedLock ends a SELECT so that the rows it reads are locked shared until the
// transaction ends (PostgreSQL: FOR SHARE; a writer that would delete or update them
// waits, other shared lockers do not). SQLite: nothing (its one writer holds the whole
// database already).
func (d *dialect) sharedLock() string {
	if d.postgres {
		return " FOR SHARE"
	}
	return ""
}
