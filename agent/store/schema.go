package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; PRAGMA user_version records how many ran. Never
// edit one that has shipped: add a new one, additive (CREATE TABLE, CREATE INDEX, ALTER
// TABLE … ADD COLUMN with a default), so that the version before it, which an update
// rolls back to when the new one fails, still opens the record and works in it
// (TestMigrationsAfterTheFloorAreAdditive). One that is not goes in breaking.
var migrations = []string{
	`CREATE TABLE events(
		seq INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: seqs never reused after pruning
		time_ns INTEGER NOT NULL,
		day TEXT NOT NULL,
		boot TEXT NOT NULL,
		kind TEXT NOT NULL,
		site TEXT NOT NULL,
		counter TEXT NOT NULL DEFAULT '',
		service TEXT NOT NULL DEFAULT '',
		attrs TEXT,
		counts TEXT
	);
	CREATE INDEX events_kind ON events(kind, seq);
	CREATE INDEX events_time ON events(time_ns);
	CREATE TABLE counters(
		day TEXT NOT NULL,
		metric TEXT NOT NULL,
		dims TEXT NOT NULL,
		value INTEGER NOT NULL,
		revision INTEGER NOT NULL,
		PRIMARY KEY(day, metric, dims)
	) WITHOUT ROWID;
	CREATE INDEX counters_revision ON counters(revision);
	CREATE TABLE uniques(
		day TEXT NOT NULL, metric TEXT NOT NULL, dims TEXT NOT NULL, key TEXT NOT NULL,
		PRIMARY KEY(day, metric, dims, key)
	) WITHOUT ROWID;
	CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
	// 2: counters per epoch. An epoch is one opening of the record (the boot id of the
	// process that wrote the row); each epoch's rows start at zero and only ever grow in
	// revision, so a record that was replaced or restored from an older copy never
	// reuses a revision the hub already holds for different content. Rows from before
	// this migration keep the empty epoch. op says how epochs combine (sum, or max).
	`CREATE TABLE counters2(
		day TEXT NOT NULL,
		metric TEXT NOT NULL,
		dims TEXT NOT NULL,
		epoch TEXT NOT NULL,
		op TEXT NOT NULL DEFAULT 'add',
		value INTEGER NOT NULL,
		revision INTEGER NOT NULL,
		PRIMARY KEY(day, metric, dims, epoch)
	) WITHOUT ROWID;
	INSERT INTO counters2(day, metric, dims, epoch, value, revision) SELECT day, metric, dims, '', value, revision FROM counters;
	DROP TABLE counters;
	ALTER TABLE counters2 RENAME TO counters;
	CREATE INDEX counters_revision ON counters(revision);`,
}

// breaking are the migrations (numbered from 1) after which an agent that predates
// them cannot use the record: 2 rebuilt the counters' key. Every later one is additive.
var breaking = map[int]bool{1: true, 2: true}

// metaReadableFrom is the meta key holding the fewest migrations an agent must know to
// use the record: the last breaking one it went through. An older agent (one rolled
// back to after an update) reads it to know whether the newer schema is still its own.
const metaReadableFrom = "schema_readable_from"

// readableFrom is metaReadableFrom for a record migrated through n migrations.
func readableFrom(n int) int {
	floor := 0
	for i := 1; i <= n; i++ {
		if breaking[i] {
			floor = i
		}
	}
	return floor
}

// newerUsable reports whether a record a newer agent migrated to version v (above what
// this agent knows) is still usable here: every migration it has beyond ours is
// additive, as that agent wrote down.
func newerUsable(ctx context.Context, db *sql.DB, v int) error {
	var floor int
	err := db.QueryRowContext(ctx, `SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?`, metaReadableFrom).Scan(&floor)
	if err == nil && floor <= len(migrations) {
		return nil
	}
	return fmt.Errorf("%w: schema version %d, this agent knows up to %d: install the newer motcua-agent again (a downgrade cannot use this record; it was left untouched)",
		ErrNewerSchema, v, len(migrations))
}

func migrate(ctx context.Context, db *sql.DB) error {
	var v int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if v > len(migrations) {
		// An update added migrations and was rolled back: additive ones leave the record
		// ours (the newer version's tables and columns are left as they are).
		return newerUsable(ctx, db, v)
	}
	for i := v; i < len(migrations); i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.Exec(migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, i+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.Exec(`INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
			metaReadableFrom, fmt.Sprint(readableFrom(i+1))); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return nil
}
