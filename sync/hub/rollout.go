package hub

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"motcua-agent/sync/hub/store"
	"motcua-agent/sync/hub/web"
	"motcua-agent/sync/release"
	"motcua-agent/sync/wire"
)

// A rollout assigns one signed release to a growing share of the fleet: first every
// device at the canary sites, then the devices whose cohort number (a hash of the
// rollout and the device's name, 0 … 9999) is below the stage's percent × 100, at the
// listed sites only when sites are given. The hub answers each push of a device in the
// stage that runs an older version with a ReleaseOffer; from the heartbeats that follow
// it keeps each offered device's outcome, and halts the rollout by itself when the
// share of failed updates passes the threshold. One rollout is current at a time; a new
// one replaces it.

// Rollout states.
const (
	RolloutRunning  = "running"
	RolloutHalted   = "halted"
	RolloutReplaced = "replaced"
)

// Device states in a rollout, as the heartbeats tell them.
const (
	DeviceOffered    = "offered"
	DeviceTrial      = "trial"
	DeviceCommitted  = "committed"
	DeviceRolledBack = "rolled_back"
	DeviceRefused    = "refused"
	DeviceFailed     = "failed"
)

// Defaults of a rollout's halt.
const (
	DefaultHaltAt    = 0.05 // a share of failed updates above 5 % halts
	DefaultMinSample = 20   // … once at least 20 offered devices have finished
)

// RolloutSpec is what `motcua-hub rollout start` asks for.
type RolloutSpec struct {
	Release string
	Percent float64  // 0 … 100; 0 is the canary sites only
	Sites   []string // only devices at these sites (all sites when empty)
	Canary  []string // every device at these sites, from the first stage
	// HaltAt is the share of failed updates (rolled back, refused, failed) among the
	// finished ones above which the rollout halts; MinSample the finished updates
	// needed before it may. Zero values take DefaultHaltAt and DefaultMinSample.
	HaltAt    float64
	MinSample int
}

// Stage is one step of a rollout: its percent from a moment on.
type Stage struct {
	Percent float64   `json:"percent"`
	At      time.Time `json:"at"`
}

// RolloutCounts are the offered devices by what became of the update.
type RolloutCounts struct {
	Offered    int `json:"offered"` // every device offered the release, whatever followed
	Waiting    int `json:"waiting"` // offered, nothing reported yet
	Trial      int `json:"trial"`
	Committed  int `json:"committed"`
	RolledBack int `json:"rolled_back"`
	Refused    int `json:"refused"`
	Failed     int `json:"failed"`
}

// Finished are the offered devices whose update ended (committed or not).
func (c RolloutCounts) Finished() int { return c.Committed + c.Failures() }

// Failures are the updates that did not end in a commit.
func (c RolloutCounts) Failures() int { return c.RolledBack + c.Refused + c.Failed }

// Rollout is one rollout with its stages and counts.
type Rollout struct {
	ID        int64         `json:"id"`
	Release   string        `json:"release"`
	Sites     []string      `json:"sites,omitempty"`
	Canary    []string      `json:"canary,omitempty"`
	Percent   float64       `json:"percent"`
	HaltAt    float64       `json:"halt_at"`
	MinSample int           `json:"min_sample"`
	State     string        `json:"state"`
	Reason    string        `json:"reason,omitempty"`
	Started   time.Time     `json:"started"`
	Changed   time.Time     `json:"changed"`
	Stages    []Stage       `json:"stages"`
	Counts    RolloutCounts `json:"counts"`
}

// StageName is the stage in words for logs and the offer: "canary" or "10%".
func (r *Rollout) StageName() string { return StageNameOf(r.Percent) }

// StageNameOf is a stage in words: "canary" for 0, else "10%".
func StageNameOf(p float64) string {
	if p == 0 {
		return "canary"
	}
	return strconv.FormatFloat(p, 'f', -1, 64) + "%"
}

// Errors of the rollout commands.
var (
	ErrNoRollout       = errors.New("no rollout is running or halted")
	ErrNotPublished    = errors.New("release not published in the signed repository")
	ErrNoReleases      = errors.New("this hub has no release folder (--releases)")
	ErrRolloutHalted   = errors.New("the rollout is halted")
	ErrRolloutBackward = errors.New("a stage never shrinks")
)

// cohortOf is the device's place in a rollout, 0 … 9999: stable for one rollout,
// different between rollouts, so the same PCs are not always the first.
func cohortOf(rollout int64, device string) int64 {
	sum := sha256.Sum256([]byte(strconv.FormatInt(rollout, 10) + "\x00" + device))
	return int64(binary.BigEndian.Uint64(sum[:8]) % 10000)
}

// bp is a percent as hundredths (0 … 10000), how cohorts compare with it.
func bp(percent float64) int64 { return int64(math.Round(percent * 100)) }

// publishedReleases reads the versions the hub's release folder signs, again whenever
// targets.json changes (looked at no more than every two seconds).
type publishedReleases struct {
	dir     string // the release folder (repository/ inside)
	mu      sync.Mutex
	checked time.Time
	mod     time.Time
	set     map[string][]release.Kind
	err     error
}

func (p *publishedReleases) has(version string, now time.Time) (bool, error) {
	if p == nil {
		return false, ErrNoReleases
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Sub(p.checked) > 2*time.Second || p.set == nil && p.err == nil {
		p.checked = now
		repo := filepath.Join(p.dir, release.RepositoryDir)
		st, err := os.Stat(filepath.Join(repo, "targets.json"))
		if err != nil {
			p.set, p.err = nil, fmt.Errorf("release folder %s: %w", p.dir, err)
		} else if !st.ModTime().Equal(p.mod) || p.set == nil {
			p.mod = st.ModTime()
			p.set, p.err = release.Published(repo, now)
		}
	}
	if p.err != nil {
		return false, p.err
	}
	_, ok := p.set[version]
	return ok, nil
}

// SetReleases names the hub's release folder (hub.key and repository/, what serve
// --releases serves): a rollout offers only what its targets.json signs.
func (h *Hub) SetReleases(dir string) {
	h.releases = &publishedReleases{dir: dir}
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

const rolloutColumns = `id, release, sites, canary, cohort, halt_at, min_sample, state, reason, started_at, changed_at`

type rowScanner interface{ Scan(...any) error }

func scanRollout(row rowScanner) (*Rollout, error) {
	var r Rollout
	var sites, canary, started, changed string
	var cohort, haltAt, minSample int64
	if err := row.Scan(&r.ID, &r.Release, &sites, &canary, &cohort, &haltAt, &minSample, &r.State, &r.Reason, &started, &changed); err != nil {
		return nil, err
	}
	r.Sites, r.Canary = splitList(sites), splitList(canary)
	r.Percent, r.HaltAt, r.MinSample = float64(cohort)/100, float64(haltAt)/10000, int(minSample)
	r.Started, _ = time.Parse(time.RFC3339Nano, started)
	r.Changed, _ = time.Parse(time.RFC3339Nano, changed)
	return &r, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// currentRollout is the running or halted rollout, nil when none.
func currentRollout(ctx context.Context, q querier) (*Rollout, error) {
	r, err := scanRollout(q.QueryRowContext(ctx, `SELECT `+rolloutColumns+` FROM rollouts
		WHERE state IN ('running', 'halted') ORDER BY id DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the current rollout: %w", err)
	}
	return r, nil
}

// StartRollout starts a rollout of a published release, replacing the current one. Its
// first stage is spec.Percent (0: the canary sites only).
func (h *Hub) StartRollout(ctx context.Context, spec RolloutSpec) (*Rollout, error) {
	if _, err := release.ParseVersion(spec.Release); err != nil {
		return nil, fmt.Errorf("rollout start: %w", err)
	}
	if spec.Percent < 0 || spec.Percent > 100 {
		return nil, fmt.Errorf("rollout start: percent %v is outside 0 … 100", spec.Percent)
	}
	if spec.Percent == 0 && len(spec.Canary) == 0 {
		return nil, errors.New("rollout start: a first stage of 0 % needs canary sites (--canary), or give --percent")
	}
	if spec.HaltAt == 0 {
		spec.HaltAt = DefaultHaltAt
	}
	if spec.HaltAt <= 0 || spec.HaltAt >= 1 {
		return nil, fmt.Errorf("rollout start: halt-at %v is not a share between 0 and 1 (0.05 is 5 %%)", spec.HaltAt)
	}
	if spec.MinSample == 0 {
		spec.MinSample = DefaultMinSample
	}
	if spec.MinSample < 1 {
		return nil, fmt.Errorf("rollout start: min-sample %d must be at least 1", spec.MinSample)
	}
	for _, s := range slices.Concat(spec.Sites, spec.Canary) {
		if !wire.ValidName(s) {
			return nil, fmt.Errorf("rollout start: site %q is not a site code", s)
		}
	}
	ok, err := h.releases.has(spec.Release, h.now())
	if err != nil {
		return nil, fmt.Errorf("rollout start: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("rollout start: %s: %w; sign it first (motcua-hub release publish) and copy repository/ to the hub", spec.Release, ErrNotPublished)
	}
	at := h.now().UTC().Format(time.RFC3339Nano)
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("rollout start: %w", err)
	}
	defer tx.Rollback()
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(max(id), 0) + 1 FROM rollouts`).Scan(&id); err != nil {
		return nil, fmt.Errorf("rollout start: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE rollouts SET state = 'replaced', reason = ?, changed_at = ?
		WHERE state IN ('running', 'halted')`, fmt.Sprintf("replaced by rollout %d of %s", id, spec.Release), at); err != nil {
		return nil, fmt.Errorf("rollout start: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO rollouts(`+rolloutColumns+`) VALUES(?, ?, ?, ?, ?, ?, ?, 'running', '', ?, ?)`,
		id, spec.Release, strings.Join(spec.Sites, ","), strings.Join(spec.Canary, ","), bp(spec.Percent),
		int64(math.Round(spec.HaltAt*10000)), spec.MinSample, at, at); err != nil {
		return nil, fmt.Errorf("rollout start: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO rollout_stages(rollout, seq, cohort, at) VALUES(?, 1, ?, ?)`, id, bp(spec.Percent), at); err != nil {
		return nil, fmt.Errorf("rollout start: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("rollout start: %w", err)
	}
	return h.rolloutByID(ctx, id)
}

// AdvanceRollout widens the running rollout to percent.
func (h *Hub) AdvanceRollout(ctx context.Context, percent float64) (*Rollout, error) {
	if percent < 0 || percent > 100 {
		return nil, fmt.Errorf("rollout advance: percent %v is outside 0 … 100", percent)
	}
	return h.changeRollout(ctx, "advance", func(tx *store.Tx, r *Rollout, at string) error {
		if r.State == RolloutHalted {
			return fmt.Errorf("%w (%s); resume it first, or start a fixed release", ErrRolloutHalted, r.Reason)
		}
		if bp(percent) <= bp(r.Percent) {
			return fmt.Errorf("%w: the rollout is at %s already", ErrRolloutBackward, r.StageName())
		}
		if _, err := tx.ExecContext(ctx, `UPDATE rollouts SET cohort = ?, changed_at = ? WHERE id = ?`, bp(percent), at, r.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO rollout_stages(rollout, seq, cohort, at)
			SELECT ?, COALESCE(max(seq), 0) + 1, ?, ? FROM rollout_stages WHERE rollout = ?`, r.ID, bp(percent), at, r.ID)
		return err
	})
}

// HaltRollout stops the running rollout's offers; devices that committed keep the
// release, devices on trial finish their trial.
func (h *Hub) HaltRollout(ctx context.Context, reason string) (*Rollout, error) {
	return h.changeRollout(ctx, "halt", func(tx *store.Tx, r *Rollout, at string) error {
		if r.State == RolloutHalted {
			return fmt.Errorf("%w already (%s)", ErrRolloutHalted, r.Reason)
		}
		_, err := tx.ExecContext(ctx, `UPDATE rollouts SET state = 'halted', reason = ?, changed_at = ? WHERE id = ?`, reason, at, r.ID)
		return err
	})
}

// ResumeRollout lets a halted rollout offer again, with a new threshold when haltAt is
// not zero. The counts are kept: the next failure halts it again while their share
// stays above the threshold.
func (h *Hub) ResumeRollout(ctx context.Context, haltAt float64) (*Rollout, error) {
	if haltAt < 0 || haltAt >= 1 {
		return nil, fmt.Errorf("rollout resume: halt-at %v is not a share between 0 and 1", haltAt)
	}
	return h.changeRollout(ctx, "resume", func(tx *store.Tx, r *Rollout, at string) error {
		if r.State != RolloutHalted {
			return errors.New("the rollout is not halted")
		}
		t := int64(math.Round(r.HaltAt * 10000))
		if haltAt > 0 {
			t = int64(math.Round(haltAt * 10000))
		}
		_, err := tx.ExecContext(ctx, `UPDATE rollouts SET state = 'running', reason = '', halt_at = ?, changed_at = ? WHERE id = ?`, t, at, r.ID)
		return err
	})
}

func (h *Hub) changeRollout(ctx context.Context, verb string, change func(tx *store.Tx, r *Rollout, at string) error) (*Rollout, error) {
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("rollout %s: %w", verb, err)
	}
	defer tx.Rollback()
	r, err := currentRollout(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("rollout %s: %w", verb, err)
	}
	if r == nil {
		return nil, fmt.Errorf("rollout %s: %w", verb, ErrNoRollout)
	}
	if err := change(tx, r, h.now().UTC().Format(time.RFC3339Nano)); err != nil {
		return nil, fmt.Errorf("rollout %s: %w", verb, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("rollout %s: %w", verb, err)
	}
	return h.rolloutByID(ctx, r.ID)
}

// Rollouts lists the rollouts, newest first, with their stages and counts (at most
// limit; 0 for all).
func (h *Hub) Rollouts(ctx context.Context, limit int) ([]Rollout, error) {
	q := `SELECT ` + rolloutColumns + ` FROM rollouts ORDER BY id DESC`
	if limit > 0 {
		q += ` LIMIT ` + strconv.Itoa(limit)
	}
	rows, err := h.rdb.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read rollouts: %w", err)
	}
	var out []Rollout
	for rows.Next() {
		r, err := scanRollout(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("read rollouts: %w", err)
		}
		out = append(out, *r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rollouts: %w", err)
	}
	for i := range out {
		if err := h.fillRollout(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (h *Hub) rolloutByID(ctx context.Context, id int64) (*Rollout, error) {
	r, err := scanRollout(h.rdb.QueryRowContext(ctx, `SELECT `+rolloutColumns+` FROM rollouts WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("read rollout %d: %w", id, err)
	}
	return r, h.fillRollout(ctx, r)
}

func (h *Hub) fillRollout(ctx context.Context, r *Rollout) error {
	rows, err := h.rdb.QueryContext(ctx, `SELECT cohort, at FROM rollout_stages WHERE rollout = ? ORDER BY seq`, r.ID)
	if err != nil {
		return fmt.Errorf("read rollout %d: %w", r.ID, err)
	}
	r.Stages = nil
	for rows.Next() {
		var cohort int64
		var at string
		if err := rows.Scan(&cohort, &at); err != nil {
			rows.Close()
			return fmt.Errorf("read rollout %d: %w", r.ID, err)
		}
		t, _ := time.Parse(time.RFC3339Nano, at)
		r.Stages = append(r.Stages, Stage{Percent: float64(cohort) / 100, At: t})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read rollout %d: %w", r.ID, err)
	}
	r.Counts, err = rolloutCounts(ctx, h.rdb, r.ID)
	return err
}

type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func rolloutCounts(ctx context.Context, db queryer, id int64) (RolloutCounts, error) {
	var c RolloutCounts
	rows, err := db.QueryContext(ctx, `SELECT state, count(*) FROM rollout_devices WHERE rollout = ? GROUP BY state`, id)
	if err != nil {
		return c, fmt.Errorf("count rollout %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return c, fmt.Errorf("count rollout %d: %w", id, err)
		}
		c.Offered += n
		switch state {
		case DeviceOffered:
			c.Waiting += n
		case DeviceTrial:
			c.Trial += n
		case DeviceCommitted:
			c.Committed += n
		case DeviceRolledBack:
			c.RolledBack += n
		case DeviceRefused:
			c.Refused += n
		case DeviceFailed:
			c.Failed += n
		}
	}
	return c, rows.Err()
}

// inStage says whether the rollout's current stage includes a device at site.
func (r *Rollout) inStage(site, device string) bool {
	if slices.Contains(r.Canary, site) {
		return true
	}
	if len(r.Sites) > 0 && !slices.Contains(r.Sites, site) {
		return false
	}
	return cohortOf(r.ID, device) < bp(r.Percent)
}

// reported is what a heartbeat says of the rollout's release: a device state, or ""
// when it says nothing new of it.
func reported(hb *wire.Heartbeat, target string) (state, reason string) {
	running := hb.Version
	u := hb.Update
	if u != nil && u.Running != "" {
		running = u.Running
	}
	switch {
	case u != nil && u.Trial == target:
		return DeviceTrial, ""
	case running == target:
		return DeviceCommitted, ""
	case u != nil && u.Version == target:
		switch u.Outcome {
		case "rolled_back", "refused", "failed":
			return u.Outcome, u.Reason
		}
	}
	return "", ""
}

func runningVersion(hb *wire.Heartbeat) string {
	if hb.Update != nil && hb.Update.Running != "" {
		return hb.Update.Running
	}
	return hb.Version
}

// recordRollout runs in the writer's transaction of a group of pushes: it keeps what
// each offered device's heartbeat says of the current rollout's release, halts the
// rollout when the failures pass its threshold, and gives each stored job the offer its answer
// carries (store.AfterStore: offers[i] for group[i]).
func (h *Hub) recordRollout(ctx context.Context, tx *store.Tx, group []*store.Job, stored []int, now time.Time) (offers map[int]*wire.ReleaseOffer, err error) {
	r, err := currentRollout(ctx, tx)
	if err != nil || r == nil {
		return nil, err
	}
	var beats []int // stored jobs with a heartbeat from an agent that updates itself
	for _, i := range stored {
		if hb := group[i].Push().Heartbeat; hb != nil && hb.Update != nil {
			beats = append(beats, i)
		}
	}
	if len(beats) == 0 {
		return nil, nil
	}
	devices := make([]string, 0, len(beats))
	for _, i := range beats {
		devices = append(devices, group[i].Device())
	}
	slices.Sort(devices)
	devices = slices.Compact(devices)
	known := map[string]string{}
	args := []any{r.ID}
	for _, d := range devices {
		args = append(args, d)
	}
	rows, err := tx.QueryContext(ctx, `SELECT device, state FROM rollout_devices WHERE rollout = ? AND device IN (`+
		strings.TrimSuffix(strings.Repeat("?, ", len(devices)), ", ")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("read rollout devices: %w", err)
	}
	for rows.Next() {
		var d, s string
		if err := rows.Scan(&d, &s); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read rollout devices: %w", err)
		}
		known[d] = s
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rollout devices: %w", err)
	}
	at := now.UTC().Format(time.RFC3339Nano)
	failed := false
	for _, i := range beats {
		j := group[i]
		was, ok := known[j.Device()]
		if !ok {
			continue // never offered: not counted
		}
		state, reason := reported(j.Push().Heartbeat, r.Release)
		if state == "" || state == was {
			continue
		}
		if len(reason) > wire.MaxBeatTextLen {
			reason = reason[:wire.MaxBeatTextLen]
		}
		if _, err := tx.ExecContext(ctx, `UPDATE rollout_devices SET state = ?, reason = ?, at = ? WHERE rollout = ? AND device = ?`,
			state, reason, at, r.ID, j.Device()); err != nil {
			return nil, fmt.Errorf("record rollout device: %w", err)
		}
		known[j.Device()] = state
		failed = failed || state == DeviceRolledBack || state == DeviceRefused || state == DeviceFailed
	}
	if failed && r.State == RolloutRunning {
		c, err := rolloutCounts(ctx, tx, r.ID)
		if err != nil {
			return nil, err
		}
		if fin := c.Finished(); fin >= r.MinSample && float64(c.Failures()) > r.HaltAt*float64(fin) {
			r.State = RolloutHalted
			r.Reason = fmt.Sprintf("halted by the hub at %s: %d of %d finished updates failed (%d rolled back, %d refused, %d failed), above %s",
				r.StageName(), c.Failures(), fin, c.RolledBack, c.Refused, c.Failed, strconv.FormatFloat(r.HaltAt*100, 'f', -1, 64)+"%")
			if _, err := tx.ExecContext(ctx, `UPDATE rollouts SET state = 'halted', reason = ?, changed_at = ? WHERE id = ? AND state = 'running'`,
				r.Reason, at, r.ID); err != nil {
				return nil, fmt.Errorf("halt rollout: %w", err)
			}
			h.log.Warn("rollout halted", "rollout", r.ID, "release", r.Release, "reason", r.Reason)
		}
	}
	if r.State != RolloutRunning {
		return nil, nil
	}
	published, err := h.releases.has(r.Release, now)
	if !published {
		h.rolloutWarn.Do(func() {
			h.log.Error("rollout: the release is not published in this hub's release folder; nothing is offered", "release", r.Release, "err", err)
		})
		return nil, nil
	}
	offer := &wire.ReleaseOffer{Version: r.Release, Rollout: fmt.Sprintf("%d/%s", r.ID, r.StageName())}
	for _, i := range beats {
		j := group[i]
		switch known[j.Device()] {
		case DeviceRolledBack, DeviceRefused, DeviceCommitted:
			continue // it will not take it again, or has it
		}
		if !r.inStage(j.Site(), j.Device()) || release.CompareVersions(r.Release, runningVersion(j.Push().Heartbeat)) <= 0 {
			continue
		}
		if _, ok := known[j.Device()]; !ok {
			if _, err := tx.ExecContext(ctx, `INSERT INTO rollout_devices(rollout, device, state, reason, at) VALUES(?, ?, 'offered', '', ?)
				ON CONFLICT(rollout, device) DO NOTHING`, r.ID, j.Device(), at); err != nil {
				return nil, fmt.Errorf("record rollout offer: %w", err)
			}
			known[j.Device()] = DeviceOffered
		}
		if offers == nil {
			offers = map[int]*wire.ReleaseOffer{}
		}
		offers[i] = offer
	}
	return offers, nil
}

// RolloutViews are the last rollouts for the fleet page (web.Hub).
func (h *Hub) RolloutViews(ctx context.Context) ([]web.RolloutView, error) {
	rs, err := h.Rollouts(ctx, 5)
	if err != nil {
		return nil, err
	}
	stageVI := func(p float64) string {
		if p == 0 {
			return "thí điểm"
		}
		return strings.Replace(strconv.FormatFloat(p, 'f', -1, 64), ".", ",", 1) + "% máy trạm"
	}
	out := make([]web.RolloutView, 0, len(rs))
	for _, r := range rs {
		v := web.RolloutView{ID: r.ID, Release: r.Release, Stage: stageVI(r.Percent)}
		c := r.Counts
		v.Counts.Offered, v.Counts.Waiting, v.Counts.Trial, v.Counts.Committed = int64(c.Offered), int64(c.Waiting), int64(c.Trial), int64(c.Committed)
		v.Counts.RolledBack, v.Counts.Refused, v.Counts.Failed = int64(c.RolledBack), int64(c.Refused), int64(c.Failed)
		switch r.State {
		case RolloutRunning:
			v.StateText, v.StateClass = "Đang triển khai", "ok"
		case RolloutHalted:
			v.StateText, v.StateClass = "Đã dừng", "warn"
		default:
			v.StateText, v.StateClass = "Đã thay bằng đợt sau", "off"
		}
		switch {
		case len(r.Canary) > 0 && len(r.Sites) > 0:
			v.Scope = "Thí điểm tại " + strings.Join(r.Canary, ", ") + "; sau đó chỉ các điểm " + strings.Join(r.Sites, ", ")
		case len(r.Canary) > 0:
			v.Scope = "Thí điểm tại " + strings.Join(r.Canary, ", ") + "; sau đó mọi điểm"
		case len(r.Sites) > 0:
			v.Scope = "Chỉ các điểm " + strings.Join(r.Sites, ", ")
		default:
			v.Scope = "Mọi điểm"
		}
		for _, st := range r.Stages {
			v.Stages = append(v.Stages, stageVI(st.Percent)+" từ "+st.At.In(h.loc).Format("15:04 02/01/2006"))
		}
		if r.State == RolloutHalted {
			threshold := strings.Replace(strconv.FormatFloat(r.HaltAt*100, 'f', -1, 64), ".", ",", 1) + "%"
			if strings.HasPrefix(r.Reason, "halted by the hub") {
				v.Why = fmt.Sprintf("Máy chủ tự dừng: %d trong %d máy đã cập nhật xong bị lỗi, vượt ngưỡng %s. Máy đã cập nhật được giữ nguyên; không máy nào được đề nghị thêm.",
					r.Counts.Failures(), r.Counts.Finished(), threshold)
			} else {
				v.Why = "Tỉnh đã dừng đợt này: " + r.Reason + ". Máy đã cập nhật được giữ nguyên; không máy nào được đề nghị thêm."
			}
		}
		out = append(out, v)
	}
	return out, nil
}
