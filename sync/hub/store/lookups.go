package store

import (
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// openLookups opens the pool that looks up each push's device and nonce (lookupPush).
// On PostgreSQL it has connections of its own, planned as the server plans by default:
// the look-up is two primary-key probes, and after its first runs the server keeps one
// generic plan for it, where the other pools' connections, which plan every statement
// for its parameters (postgresConfig), planned it again on every push (measured with
// pg_stat_statements: planning took twice its execution). Four connections: a look-up
// is one short round trip, and a hub's connections in all (three for the writer, eight
// for the readers, four here) stay near the 13 they were. SQLite: the readers' pool.
func openLookups(db string, rdb *sqlDB) (*sqlDB, error) {
	if !rdb.d.postgres {
		return rdb, nil
	}
	cfg, err := pgx.ParseConfig(db)
	if err != nil {
		return nil, err
	}
	adb := stdlib.OpenDB(*cfg)
	adb.SetMaxOpenConns(4)
	adb.SetMaxIdleConns(4)
	return &sqlDB{DB: adb, d: postgresDialect}, nil
}
