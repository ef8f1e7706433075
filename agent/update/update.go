// Package update applies a new agent version on the counter PC and takes it back when
// it does not prove itself: each version in its own folder (DATA/versions/V), the
// service started through a switch (on Linux the `current` symlink, replaced by an
// atomic rename), a trial after each switch that commits when the agent reports
// healthy and returns to the previous version when it does not within HealthWindow or
// starts more than MaxStarts times within CrashWindow (a crash loop). The last two
// versions are kept.
//
// Who does what: Boot runs before every start of the service by the supervisor (the
// packaged binary, systemd's ExecStartPre), so a version that crashes before running
// any of its own code is still counted and rolled back. Confirm runs inside the
// started agent and gates the commit on its health. Apply stages and switches, only
// when the caller says no ticket is being served; the caller then exits so the
// supervisor restarts into the new version.
//
// It never fetches anything itself (sync/release verifies what it is given) and never
// touches the record: migrations must stay additive so the previous version still
// opens agent.db after a rollback.
package update

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"time"

	"motcua-agent/internal/atomicfile"
	"motcua-agent/sync/release"
)

// Errors a caller tests with errors.Is.
var (
	// ErrBusy: a ticket is being served; try again later.
	ErrBusy = errors.New("a ticket is being served")
	// ErrRolledBack: the version on trial was given up and the previous one switched
	// back in; the caller must exit so the supervisor starts it.
	ErrRolledBack = errors.New("rolled back to the previous version")
	// ErrTrialUnderway: another version is still proving itself.
	ErrTrialUnderway = errors.New("a version is still on trial")
)

// Defaults for an Updater's zero fields.
const (
	DefaultMaxStarts    = 3
	DefaultCrashWindow  = time.Hour
	DefaultHealthWindow = 10 * time.Minute
)

// Updater manages DATA/versions. Its zero durations take the defaults above.
type Updater struct {
	// Dir is DATA/versions: one folder per version, `current`, state.json.
	Dir string
	// Binary is the executable's name inside a version folder (motcua-agent, or
	// motcua-agent.exe on Windows).
	Binary string
	// Idle reports that no ticket is being served; nil is always idle (the CLI).
	Idle func() bool
	// MaxStarts: more starts than this within CrashWindow of a switch roll it back.
	MaxStarts    int
	CrashWindow  time.Duration
	HealthWindow time.Duration
	Now          func() time.Time
	// Service is the Windows service switched (ServiceName when empty).
	Service string
	// Step, when set, is called after each step of Apply ("staged", "trial", "switched")
	// so a test can kill the process between steps.
	Step func(step string)
}

// State is state.json: what runs, what ran before and the trial underway.
type State struct {
	Current  string   `json:"current"`
	Previous string   `json:"previous,omitempty"`
	Trial    *Trial   `json:"trial,omitempty"`
	Refused  []string `json:"refused,omitempty"` // versions rolled back: never re-applied by CheckAndApply
	Reason   string   `json:"reason,omitempty"`  // why the last rollback happened
	// Last is what became of the last update tried here, for the hub's rollout counts:
	// kept across the restarts (and the supervisor's boot) that separate its steps.
	Last *Outcome `json:"last,omitempty"`
}

// Outcome is the end of one update: OutcomeCommitted, OutcomeRolledBack, or one the
// caller records (OutcomeRefused, OutcomeFailed), with the version and why.
type Outcome struct {
	Outcome string    `json:"outcome"`
	Version string    `json:"version"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
}

// Outcomes, as the heartbeat names them (wire.UpdateState).
const (
	OutcomeCommitted  = "committed"
	OutcomeRolledBack = "rolled_back"
	OutcomeRefused    = "refused" // the release failed its verification
	OutcomeFailed     = "failed"  // it could not be fetched, staged or switched
)

// Trial is a version proving itself after a switch.
type Trial struct {
	Version string    `json:"version"`
	Since   time.Time `json:"since"`
	Starts  int       `json:"starts"`
	Healthy bool      `json:"healthy"`
}

var versionName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$`)

func (u *Updater) now() time.Time {
	if u.Now != nil {
		return u.Now()
	}
	return time.Now()
}

func (u *Updater) maxStarts() int {
	if u.MaxStarts > 0 {
		return u.MaxStarts
	}
	return DefaultMaxStarts
}

func (u *Updater) crashWindow() time.Duration {
	if u.CrashWindow > 0 {
		return u.CrashWindow
	}
	return DefaultCrashWindow
}

func (u *Updater) healthWindow() time.Duration {
	if u.HealthWindow > 0 {
		return u.HealthWindow
	}
	return DefaultHealthWindow
}

func (u *Updater) step(s string) {
	if u.Step != nil {
		u.Step(s)
	}
}

// Status reads state.json (an empty State before the first Boot).
func (u *Updater) Status() (State, error) {
	var st State
	data, err := os.ReadFile(filepath.Join(u.Dir, "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("update: read state: %w", err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("update: read state %s: %w; move it aside and run the packaged binary's 'update boot' to start again", filepath.Join(u.Dir, "state.json"), err)
	}
	return st, nil
}

func (u *Updater) save(st State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(u.Dir, "state.json"), data, 0o600)
}

// Executable is the path the service starts: on Linux the current version's binary
// through the switch (DATA/versions/current/motcua-agent), on Windows the current
// version's own folder.
func (u *Updater) Executable() string {
	st, _ := u.Status()
	return u.executable(st)
}

// ServiceName is the service whose executable is switched on Windows.
const ServiceName = "motcua-agent"

// BinaryName is the agent's executable name on this system.
func BinaryName() string {
	if runtime.GOOS == "windows" {
		return "motcua-agent.exe"
	}
	return "motcua-agent"
}

// Kind is the release file this system applies: the Windows executable or the bare
// Linux binary (the versions folder holds binaries, not packages).
func Kind() release.Kind {
	if runtime.GOOS == "windows" {
		return release.KindWindowsExe
	}
	return release.KindLinux
}

// ForData is the Updater of an agent whose data folder is dataDir (DATA/versions).
func ForData(dataDir string) *Updater {
	return &Updater{Dir: filepath.Join(dataDir, "versions"), Binary: BinaryName()}
}

// Apply stages data as version and switches to it on trial. It refuses while a ticket
// is served (ErrBusy) or another version is on trial and not yet healthy. After it
// returns nil the caller exits; the supervisor's next start runs version.
func (u *Updater) Apply(version string, data []byte) error {
	if !versionName.MatchString(version) {
		return fmt.Errorf("update: version %q is not a plain name like 1.4.0", version)
	}
	if u.Idle != nil && !u.Idle() {
		return fmt.Errorf("update %s: %w; it is applied when the counter is idle", version, ErrBusy)
	}
	unlock, err := u.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, err := u.Status()
	if err != nil {
		return err
	}
	if st.Current == "" {
		return fmt.Errorf("update %s: no current version recorded in %s; the service's start (update boot) records it first", version, u.Dir)
	}
	if st.Current == version {
		return fmt.Errorf("update %s: already the current version", version)
	}
	if st.Trial != nil && !st.Trial.Healthy {
		return fmt.Errorf("update %s: %w (%s since %s)", version, ErrTrialUnderway, st.Trial.Version, st.Trial.Since.Format(time.RFC3339))
	}
	if err := u.stage(version, data); err != nil {
		return err
	}
	u.step("staged")
	st.Previous, st.Current = st.Current, version
	st.Trial = &Trial{Version: version, Since: u.now().UTC()}
	st.Refused = without(st.Refused, version)
	if err := u.save(st); err != nil {
		return fmt.Errorf("update %s: %w", version, err)
	}
	u.step("trial")
	if err := switchTo(u, version); err != nil {
		return fmt.Errorf("update %s: switch: %w", version, err)
	}
	u.step("switched")
	return nil
}

// stage writes DATA/versions/V/BINARY through a temporary folder renamed into place, so
// a version folder is either complete or absent.
func (u *Updater) stage(version string, data []byte) error {
	final := filepath.Join(u.Dir, version)
	if err := os.MkdirAll(u.Dir, 0o750); err != nil {
		return fmt.Errorf("update %s: %w", version, err)
	}
	tmp, err := os.MkdirTemp(u.Dir, ".stage-")
	if err != nil {
		return fmt.Errorf("update %s: stage: %w", version, err)
	}
	defer os.RemoveAll(tmp)
	if err := atomicfile.WriteFile(filepath.Join(tmp, u.Binary), data, 0o755); err != nil {
		return fmt.Errorf("update %s: stage: %w", version, err)
	}
	if err := os.RemoveAll(final); err != nil {
		return fmt.Errorf("update %s: remove an old copy: %w", version, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("update %s: stage: %w", version, err)
	}
	atomicfile.SyncDir(u.Dir)
	return nil
}

// Boot runs before each start of the service (the packaged binary, selfPath, of
// selfVersion). On the first start it copies itself in as the current version. It
// then finishes or undoes an interrupted switch, counts a trial's starts and rolls a
// crash-looping or never-healthy trial back. It returns the executable to start.
func (u *Updater) Boot(selfPath, selfVersion string) (string, error) {
	unlock, err := u.lock()
	if err != nil {
		return "", err
	}
	defer unlock()
	st, err := u.Status()
	if err != nil {
		return "", err
	}
	if st.Current == "" || !exists(filepath.Join(u.Dir, st.Current, u.Binary)) {
		return u.seed(selfPath, selfVersion)
	}
	linked, err := linkedVersion(u)
	if err != nil {
		// The switch itself is missing: what state.json says runs.
		if err := switchTo(u, st.Current); err != nil {
			return "", fmt.Errorf("update boot: %w", err)
		}
		linked = st.Current
	}
	if st.Trial == nil && linked == st.Current && u.packageUpgraded(st, selfVersion) {
		// The package manager replaced the packaged binary with a newer one (apt
		// upgrade): it goes on trial like any update, this start its first.
		data, err := os.ReadFile(selfPath)
		if err != nil {
			return "", fmt.Errorf("update boot: read the packaged binary: %w", err)
		}
		if err := u.stage(selfVersion, data); err != nil {
			return "", err
		}
		st.Previous, st.Current = st.Current, selfVersion
		st.Trial = &Trial{Version: selfVersion, Since: u.now().UTC(), Starts: 1}
		if err := u.save(st); err != nil {
			return "", err
		}
		if err := switchTo(u, selfVersion); err != nil {
			return "", fmt.Errorf("update boot: %w", err)
		}
		return u.Executable(), nil
	}
	switch {
	case st.Trial != nil && linked != st.Trial.Version:
		// Killed between writing the trial and switching: the old version still runs.
		bad := st.Trial.Version
		st.Current, st.Previous, st.Trial = linked, "", nil
		if err := u.save(st); err != nil {
			return "", err
		}
		os.RemoveAll(filepath.Join(u.Dir, bad))
	case st.Trial != nil:
		t := st.Trial
		now := u.now()
		if t.Healthy && now.Sub(t.Since) > u.crashWindow() {
			st.Trial = nil
			return u.Executable(), u.save(st)
		}
		t.Starts++
		reason := ""
		switch {
		case t.Starts > u.maxStarts():
			reason = fmt.Sprintf("started %d times within %s of the switch", t.Starts, u.crashWindow())
		case !t.Healthy && now.Sub(t.Since) > u.healthWindow():
			reason = fmt.Sprintf("not healthy within %s", u.healthWindow())
		}
		if reason != "" {
			err := u.rollback(st, reason)
			return u.Executable(), err
		}
		if err := u.save(st); err != nil {
			return "", err
		}
	case linked != st.Current:
		// Killed during a rollback, after the state and before the switch.
		if err := switchTo(u, st.Current); err != nil {
			return "", fmt.Errorf("update boot: switch back to %s: %w", st.Current, err)
		}
	}
	return u.Executable(), nil
}

// packageUpgraded: the packaged binary is a version this PC has not run, not older
// than the current one and never rolled back here.
func (u *Updater) packageUpgraded(st State, self string) bool {
	if self == st.Current || self == st.Previous || !versionName.MatchString(self) {
		return false
	}
	for _, r := range st.Refused {
		if r == self {
			return false
		}
	}
	return release.CompareVersions(self, st.Current) >= 0
}

func (u *Updater) seed(selfPath, selfVersion string) (string, error) {
	if !versionName.MatchString(selfVersion) {
		return "", fmt.Errorf("update boot: own version %q cannot name a folder", selfVersion)
	}
	data, err := os.ReadFile(selfPath)
	if err != nil {
		return "", fmt.Errorf("update boot: read own binary: %w", err)
	}
	if err := u.stage(selfVersion, data); err != nil {
		return "", err
	}
	if err := u.save(State{Current: selfVersion}); err != nil {
		return "", err
	}
	if err := switchTo(u, selfVersion); err != nil {
		return "", fmt.Errorf("update boot: %w", err)
	}
	return u.Executable(), nil
}

// rollback makes the previous version current again; the trial's folder is removed and
// its version refused from then on.
func (u *Updater) rollback(st State, reason string) error {
	bad := st.Trial.Version
	if st.Previous == "" {
		st.Trial = nil
		u.save(st)
		return fmt.Errorf("update: %s %s but no previous version is kept to return to", bad, reason)
	}
	st.Current, st.Previous, st.Trial = st.Previous, "", nil
	st.Refused = append(without(st.Refused, bad), bad)
	st.Reason = fmt.Sprintf("%s: %s", bad, reason)
	st.Last = &Outcome{Outcome: OutcomeRolledBack, Version: bad, Reason: reason, At: u.now().UTC()}
	if err := u.save(st); err != nil {
		return err
	}
	if err := switchTo(u, st.Current); err != nil {
		return fmt.Errorf("update: roll back to %s: %w", st.Current, err)
	}
	os.RemoveAll(filepath.Join(u.Dir, bad))
	return fmt.Errorf("update: %s %s: %w %s", bad, reason, ErrRolledBack, st.Current)
}

// Confirm runs inside the started agent of version running. When that version is on
// trial it asks healthy every poll until it answers true (the commit: older versions
// than the last two are removed) or HealthWindow after the switch has passed (the
// rollback: ErrRolledBack, and the caller exits). Not on trial, it returns nil at once.
func (u *Updater) Confirm(ctx context.Context, running string, healthy func() bool, poll time.Duration) error {
	for {
		done, err := u.confirmOnce(running, healthy)
		if done || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// lock serialises changes to state.json and the switch between processes (the
// service's boot, the running agent, a technician's `update apply`).
func (u *Updater) lock() (func(), error) {
	if err := os.MkdirAll(u.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(u.Dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("update: lock: %w", err)
	}
	unlock, err := lockFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("update: lock %s: %w", f.Name(), err)
	}
	return func() { unlock(); f.Close() }, nil
}

// confirmOnce is one look at the trial, under the lock: done when there is nothing
// more to wait for.
func (u *Updater) confirmOnce(running string, healthy func() bool) (bool, error) {
	unlock, err := u.lock()
	if err != nil {
		return true, err
	}
	defer unlock()
	st, err := u.Status()
	if err != nil {
		return true, err
	}
	if st.Trial == nil || st.Trial.Version != running || st.Trial.Healthy {
		return true, nil
	}
	if healthy() {
		u.prune(st) // before the commit is recorded, so a recorded commit has pruned
		st.Trial.Healthy = true
		st.Last = &Outcome{Outcome: OutcomeCommitted, Version: running, At: u.now().UTC()}
		return true, u.save(st)
	}
	if u.now().Sub(st.Trial.Since) > u.healthWindow() {
		return true, u.rollback(st, fmt.Sprintf("not healthy within %s", u.healthWindow()))
	}
	return false, nil
}

// prune removes version folders other than the current and previous ones.
func (u *Updater) prune(st State) {
	ents, err := os.ReadDir(u.Dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		n := e.Name()
		if !e.IsDir() || e.Type()&os.ModeSymlink != 0 || n == st.Current || n == st.Previous || n[0] == '.' {
			continue
		}
		os.RemoveAll(filepath.Join(u.Dir, n))
	}
}

// CheckAndApply asks the release repository for a version newer than running (want,
// when the hub names one; "" for the newest) and applies it. release.ErrNotNewer
// (nothing to do), a version rolled back here before and every verification failure
// leave everything as it was.
func (u *Updater) CheckAndApply(c release.Client, kind release.Kind, running, want string) (string, error) {
	found, err := c.CheckFor(kind, running, want)
	if err != nil {
		return "", err
	}
	st, err := u.Status()
	if err != nil {
		return "", err
	}
	for _, r := range st.Refused {
		if r == found.Version {
			return "", fmt.Errorf("update %s: %w: it was rolled back here before (%s)", r, release.ErrNotNewer, st.Reason)
		}
	}
	return found.Version, u.Apply(found.Version, found.Data)
}

// Record keeps the outcome of an update that never switched (refused by its
// verification, or failed to fetch or stage), so the hub learns of it.
func (u *Updater) Record(outcome, version, reason string) error {
	unlock, err := u.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, err := u.Status()
	if err != nil {
		return err
	}
	st.Last = &Outcome{Outcome: outcome, Version: version, Reason: reason, At: u.now().UTC()}
	return u.save(st)
}

func without(list []string, v string) []string {
	var out []string
	for _, x := range list {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
