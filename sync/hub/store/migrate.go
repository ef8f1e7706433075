package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"motcua-agent/config/vocab"
)

// The hub's schema is a list of versioned migrations, applied in order, each once, in
// one transaction that holds the database's write lock (SQLite: BEGIN IMMEDIATE;
// PostgreSQL: an advisory lock), so any number of hubs opening the same database at
// once apply each exactly once and none reads a half-made schema. Applied versions are
// kept in schema_migrations. Never edit a published migration: append a new one.

// migration is one step of the schema. SQL is run as it is on both databases unless
// Postgres is set; upgrade, when set, runs first (on SQLite databases made before the
// list of migrations existed).
type migration struct {
	version  int
	name     string
	sql      string
	postgres string
	upgrade  func(ctx context.Context, tx *sqlTx) error
}

func (m migration) ddl(d *dialect) string {
	if d.postgres && m.postgres != "" {
		return m.postgres
	}
	return m.sql
}

// migrations is the hub's schema, oldest first.
var migrations = []migration{
	{
		version: 1, name: "base schema",
		// The schema of hubs before versioned migrations, so their databases open as they are.
		sql: `
CREATE TABLE IF NOT EXISTS sites(
	site TEXT PRIMARY KEY,
	name TEXT NOT NULL DEFAULT '',
	province TEXT NOT NULL DEFAULT '',
	commune TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS devices(
	device TEXT PRIMARY KEY,
	site TEXT NOT NULL,
	secret TEXT NOT NULL,
	enrolled_at TEXT NOT NULL,
	revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS counters(
	device TEXT NOT NULL,
	day TEXT NOT NULL,
	metric TEXT NOT NULL,
	dims TEXT NOT NULL,
	epoch TEXT NOT NULL DEFAULT '',
	value INTEGER NOT NULL,
	revision INTEGER NOT NULL,
	PRIMARY KEY(device, day, metric, dims, epoch)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS counters_by_day ON counters(day, metric);
CREATE INDEX IF NOT EXISTS counters_by_revision ON counters(device, revision);
CREATE TABLE IF NOT EXISTS nonces(
	device TEXT NOT NULL,
	nonce TEXT NOT NULL,
	seen_at INTEGER NOT NULL,
	PRIMARY KEY(device, nonce)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nonces_by_time ON nonces(seen_at);
CREATE TABLE IF NOT EXISTS fleet(
	device TEXT PRIMARY KEY,
	version TEXT NOT NULL DEFAULT '',
	last_contact TEXT NOT NULL,
	clock_offset_ms INTEGER NOT NULL DEFAULT 0,
	backlog INTEGER NOT NULL DEFAULT 0,
	devices TEXT NOT NULL DEFAULT '[]',
	watermark INTEGER NOT NULL DEFAULT 0,
	pushes INTEGER NOT NULL DEFAULT 0
);`,
		postgres: `
CREATE TABLE sites(
	site TEXT PRIMARY KEY,
	name TEXT NOT NULL DEFAULT '',
	province TEXT NOT NULL DEFAULT '',
	commune TEXT NOT NULL DEFAULT ''
);
CREATE TABLE devices(
	device TEXT PRIMARY KEY,
	site TEXT NOT NULL,
	secret TEXT NOT NULL,
	enrolled_at TEXT NOT NULL,
	revoked_at TEXT
);
CREATE TABLE counters(
	device TEXT NOT NULL,
	day TEXT NOT NULL,
	metric TEXT NOT NULL,
	dims TEXT NOT NULL,
	epoch TEXT NOT NULL DEFAULT '',
	value BIGINT NOT NULL,
	revision BIGINT NOT NULL,
	PRIMARY KEY(device, day, metric, dims, epoch)
);
CREATE INDEX counters_by_day ON counters(day, metric);
CREATE INDEX counters_by_revision ON counters(device, revision);
CREATE TABLE nonces(
	device TEXT NOT NULL,
	nonce TEXT NOT NULL,
	seen_at BIGINT NOT NULL,
	PRIMARY KEY(device, nonce)
);
CREATE INDEX nonces_by_time ON nonces(seen_at);
CREATE TABLE fleet(
	device TEXT PRIMARY KEY,
	version TEXT NOT NULL DEFAULT '',
	last_contact TEXT NOT NULL,
	clock_offset_ms BIGINT NOT NULL DEFAULT 0,
	backlog BIGINT NOT NULL DEFAULT 0,
	devices TEXT NOT NULL DEFAULT '[]',
	watermark BIGINT NOT NULL DEFAULT 0,
	pushes BIGINT NOT NULL DEFAULT 0
);
-- SQLite's json_extract for the one path form dimExpr writes, '$."key"', so the
-- reports read a counter's dimensions with the same SQL on both databases.
CREATE FUNCTION json_extract(doc TEXT, path TEXT) RETURNS TEXT
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT CASE WHEN left(path, 3) = '$."' AND right(path, 1) = '"'
		THEN CAST(doc AS jsonb) ->> substr(path, 4, length(path) - 4) END $$;`,
		upgrade: addEpochs,
	},
	{
		version: 2, name: "hub settings (the check of the device secrets' key)",
		sql: `CREATE TABLE IF NOT EXISTS hub_settings(name TEXT PRIMARY KEY, value TEXT NOT NULL);`,
	},
	{
		version: 3, name: "national tier (the provincial hub's outbox, its marks and its lease)",
		sql: federationSchema, // portable: TEXT and BIGINT
	},
	{
		version: 4, name: "national tier (the communes and sites a provincial hub's rows name)",
		sql: `CREATE TABLE IF NOT EXISTS reported_places(
	device TEXT NOT NULL,
	site TEXT NOT NULL,
	commune TEXT NOT NULL,
	PRIMARY KEY(device, site)
);`,
	},
	{
		version: 5, name: "names of the codes sites send beside their counters",
		sql: namesSchema,
	},
	{
		// A provincial hub enrolled at the national hub is kind 'hub': only its pushes may
		// name sites and communes (the reserved dims); an agent's never do.
		version: 6, name: "device kinds (an agent, or a provincial hub enrolled upstream)",
		sql: `ALTER TABLE devices ADD COLUMN kind TEXT NOT NULL DEFAULT 'agent';`,
	},
	{
		// The row budgets' counts (rowbudget.go), from the rows already held, and the
		// fleet's count of pushes refused past them.
		version: 7, name: "row budgets (distinct rows per device and site)",
		sql: `CREATE TABLE IF NOT EXISTS row_counts(
	owner TEXT NOT NULL,
	day TEXT NOT NULL,
	rows BIGINT NOT NULL,
	PRIMARY KEY(owner, day)
);
INSERT INTO row_counts(owner, day, rows) SELECT 'device:' || device, day, count(*) FROM counters GROUP BY device, day;
INSERT INTO row_counts(owner, day, rows) SELECT 'device:' || device, '', count(*) FROM counters GROUP BY device;
INSERT INTO row_counts(owner, day, rows) SELECT 'site:' || d.site, c.day, count(*) FROM counters c JOIN devices d ON d.device = c.device GROUP BY d.site, c.day;
ALTER TABLE fleet ADD COLUMN over_budget BIGINT NOT NULL DEFAULT 0;`,
	},
	{
		// Configurations published for the province, a commune or a site (sealed), and
		// what each device reports of its own (configs.go).
		version: 8, name: "configuration from the hub (published layers, devices' states)",
		sql: configsSchema,
	},
	{
		// Staged rollouts of signed releases (rollout.go): each rollout, its stages, and
		// what became of the update at each device it was offered to.
		version: 9, name: "staged rollouts of signed releases",
		sql: rolloutSchema,
	},
	{
		// The page and the reports read summaries, not rows a device may hold by the
		// million (summary.go); the highest revision of each device kept in the fleet.
		version: 10, name: "summaries by place and service; devices' highest revisions",
		sql:      summaryMigration(false),
		postgres: summaryMigration(true),
	},
	{
		// PostgreSQL: room for every row's next versions on its own page (HOT updates,
		// which write no index entry). A row is updated tens of times a day.
		version: 11, name: "counters' pages half full (PostgreSQL)",
		sql:      `SELECT 1`,
		postgres: `ALTER TABLE counters SET (fillfactor = 50);`,
	},
}

// migrationLock is the PostgreSQL advisory lock the hubs of one database take to
// migrate ("motcua-h" in ASCII).
const migrationLock = 0x6d6f74637561_2d68

// migrate brings the database's schema up to date and (re)creates the views.
func migrate(ctx context.Context, db *sqlDB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if db.d.postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(migrationLock)); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations(
		version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	for v := range applied {
		if v > migrations[len(migrations)-1].version {
			return fmt.Errorf("the database is at schema version %d, newer than this hub knows (%d): upgrade this hub",
				v, migrations[len(migrations)-1].version)
		}
	}
	for _, m := range migrations {
		if applied[m.version] {
			continue
		}
		if m.upgrade != nil && !db.d.postgres {
			if err := m.upgrade(ctx, tx); err != nil {
				return fmt.Errorf("migration %d (%s): upgrade: %w", m.version, m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, m.ddl(db.d)); err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES(?, ?, ?)`,
			m.version, m.name, time.Now().UTC().Format(time.RFC3339)); err != nil {
			return fmt.Errorf("migration %d (%s): record: %w", m.version, m.name, err)
		}
	}
	if err := ensureView(ctx, tx, "device_counters", deviceCountersView()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// ensureView (re)creates a view derived from the vocabulary when its definition
// changed, so hubs starting next to running ones do not replace it for nothing.
func ensureView(ctx context.Context, tx *sqlTx, name, body string) error {
	sum := sha256.Sum256([]byte(body))
	want := hex.EncodeToString(sum[:])
	key := "view." + name
	var have string
	err := tx.QueryRowContext(ctx, `SELECT value FROM hub_settings WHERE name = ?`, key).Scan(&have)
	if err == nil && have == want {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DROP VIEW IF EXISTS `+name); err != nil {
		return fmt.Errorf("drop view %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE VIEW `+name+` AS `+body); err != nil {
		return fmt.Errorf("create view %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO hub_settings(name, value) VALUES(?, ?)
		ON CONFLICT(name) DO UPDATE SET value = excluded.value`, key, want); err != nil {
		return fmt.Errorf("record view %s: %w", name, err)
	}
	return nil
}

// deviceCountersView is each device's counters with its epochs combined: summed, except
// the metrics the vocabulary folds by maximum (peaks), which take the largest. Every
// report reads this view, never the per-epoch table.
func deviceCountersView() string {
	var peaks []string
	for _, d := range vocab.Metrics() {
		if d.Kind == vocab.Max {
			peaks = append(peaks, "'"+d.Name+"'")
		}
	}
	if len(peaks) == 0 {
		peaks = append(peaks, "''")
	}
	return `SELECT device, day, metric, dims,
		CAST(CASE WHEN metric IN (` + strings.Join(peaks, ", ") + `) THEN max(value) ELSE sum(value) END AS BIGINT) AS value,
		max(revision) AS revision
	FROM counters GROUP BY device, day, metric, dims`
}

// addEpochs upgrades a SQLite hub database from before epochs: its counters become the
// empty epoch, which is what schema-1 agents still send.
func addEpochs(ctx context.Context, tx *sqlTx) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('counters')`).Scan(&n); err != nil || n == 0 {
		return err // no table yet: the migration creates it
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('counters') WHERE name = 'epoch'`).Scan(&n); err != nil || n == 1 {
		return err
	}
	// The view reads the old table: it goes first and is made again after the migrations.
	_, err := tx.ExecContext(ctx, `
		DROP VIEW IF EXISTS device_counters;
		CREATE TABLE counters_epochs(
			device TEXT NOT NULL, day TEXT NOT NULL, metric TEXT NOT NULL, dims TEXT NOT NULL,
			epoch TEXT NOT NULL DEFAULT '', value INTEGER NOT NULL, revision INTEGER NOT NULL,
			PRIMARY KEY(device, day, metric, dims, epoch)
		) WITHOUT ROWID;
		INSERT INTO counters_epochs(device, day, metric, dims, value, revision)
			SELECT device, day, metric, dims, value, revision FROM counters;
		DROP TABLE counters;
		ALTER TABLE counters_epochs RENAME TO counters;`)
	return err
}
