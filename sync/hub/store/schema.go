package store

// The tables of the rooms above the storage (configurations, names, rollouts): their
// schema is here so that the migrations (migrate.go) own every table the hub has.

// namesSchema is the table of names (migration 5). Portable SQL.
const namesSchema = `CREATE TABLE IF NOT EXISTS site_names(
	site TEXT NOT NULL,
	kind TEXT NOT NULL,
	code TEXT NOT NULL,
	name TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY(site, kind, code)
);`

// configsSchema is migration 8.
const configsSchema = `CREATE TABLE IF NOT EXISTS configs(
	target TEXT PRIMARY KEY,
	version TEXT NOT NULL,
	sha256 TEXT NOT NULL,
	sections TEXT NOT NULL,
	body TEXT NOT NULL,
	published_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS config_states(
	device TEXT PRIMARY KEY,
	version TEXT NOT NULL DEFAULT '',
	source TEXT NOT NULL DEFAULT '',
	refused TEXT NOT NULL DEFAULT '',
	reason TEXT NOT NULL DEFAULT '',
	reported_at TEXT NOT NULL
);`

// rolloutSchema is migration 9: the rollouts, their stages and each device's outcome.
const rolloutSchema = `CREATE TABLE IF NOT EXISTS rollouts(
	id BIGINT PRIMARY KEY,
	release TEXT NOT NULL,
	sites TEXT NOT NULL DEFAULT '',
	canary TEXT NOT NULL DEFAULT '',
	cohort BIGINT NOT NULL,
	halt_at BIGINT NOT NULL,
	min_sample BIGINT NOT NULL,
	state TEXT NOT NULL,
	reason TEXT NOT NULL DEFAULT '',
	started_at TEXT NOT NULL,
	changed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rollout_stages(
	rollout BIGINT NOT NULL,
	seq BIGINT NOT NULL,
	cohort BIGINT NOT NULL,
	at TEXT NOT NULL,
	PRIMARY KEY(rollout, seq)
);
CREATE TABLE IF NOT EXISTS rollout_devices(
	rollout BIGINT NOT NULL,
	device TEXT NOT NULL,
	state TEXT NOT NULL,
	reason TEXT NOT NULL DEFAULT '',
	at TEXT NOT NULL,
	PRIMARY KEY(rollout, device)
);`
