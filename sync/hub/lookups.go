package hub

import (
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// openLookups opens the pool that looks up each push's device and nonce (lookupPush).
// On PostgreSQL it has connections of its own, planned as the server plans by default:
// the look-up is two primary-key probes, and after its first runs the server keeps one
// generic plan for it, where the other pools' connections, which plan every statement
// for its parameters (postgresConfig), planned it again on every push (measured with
// pg_stat_statements: planning took twice its execution). SQLite: the readers' pool.
func openLookups(db string, rdb *sqlDB) (*sqlDB, error) {
	if !rdb.d.postgres {
		return rdb, nil
	}
	cfg, err := pgx.ParseConfig(db)
	if err != nil {
		return nil, err
	}
	adb := stdlib.OpenDB(*cfg)
	adb.SetMaxOpenConns(8)
	adb.SetMaxIdleConns(8)
	return &sqlDB{DB: adb, d: postgresDialect}, nil
}
