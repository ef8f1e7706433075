package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"motcua-agent/agent/health"
	"motcua-agent/agent/update"
	"motcua-agent/config"
	"motcua-agent/internal/atomicfile"
	"motcua-agent/sync/release"
	"motcua-agent/sync/upload"
	"motcua-agent/sync/wire"
)

// ErrRestart ends Run so that the service manager starts the agent again: a new
// version was switched in on trial, or the trial was given up and the previous version
// switched back. The process exits non-zero (systemd's Restart=always and the Windows
// service's recovery actions both restart it; the packaged binary's `update boot`
// then starts what `current` names).
var ErrRestart = errors.New("restart into another version")

// Restart stops the running agent with why (wrapping ErrRestart): its parts stop as
// at a shutdown and Run returns why.
func (a *App) Restart(why error) {
	if a.stop != nil {
		a.stop(fmt.Errorf("%w: %w", ErrRestart, why))
	}
}

// Timings of the update loop.
const (
	confirmPoll  = 5 * time.Second  // how often a version on trial looks at its health
	busyRetry    = 30 * time.Second // a ticket is being served: look again soon
	maxUnreached = 3                // a release out of reach this many times in a row is reported failed
)

// selfUpdate is the agent's side of the hub's rollouts: it reports where its update
// stands in every heartbeat, takes the version the hub's answer offers (or, in mode
// latest, the newest signed release), applies it when no ticket is being served,
// restarts into it, and proves the new version healthy before it is committed.
type selfUpdate struct {
	a       *App
	u       *update.Updater
	rc      release.Client
	mode    string
	every   time.Duration
	started time.Time
	kick    chan struct{}

	mu        sync.Mutex
	want      string // the version the hub's last answer offered; "" none
	rollout   string
	offerSeen bool // an offer came in the push underway
	pushed    bool // a push was accepted since this process started
	lastTry   time.Time
	lastWant  string
	unreached int
	why       string // why the trial is not yet healthy, last logged
}

// answeringFile lists the devices that answered when the update was applied: the new
// version must have them answer again before it is committed.
func answeringFile(cfg *config.Config) string {
	return filepath.Join(cfg.DataDir, "release", "answering.json")
}

// startUpdate confirms a version on trial (whatever the config says: a technician's
// `update apply` is proved the same way) and, when update.root_file is set, watches
// for releases. A broken update setting never stops the counter: it is logged.
func startUpdate(ctx context.Context, a *App) error {
	cfg := a.Config
	u := update.ForData(cfg.DataDir)
	u.Idle = func() bool { return a.Serving == nil || !a.Serving() }
	s := &selfUpdate{a: a, u: u, mode: cfg.Update.Mode, every: cfg.Update.CheckEvery, started: time.Now(), kick: make(chan struct{}, 1)}
	a.update = s
	a.Go(func() { s.confirm(ctx) })
	if !cfg.Update.Enabled() {
		return nil
	}
	root, err := os.ReadFile(cfg.Update.RootFile)
	if err != nil {
		a.Log.Error("update: the trusted root cannot be read; this PC does not update itself until update.root_file is fixed", "err", err)
		return nil
	}
	tlsCfg, err := upload.LoadCA(cfg.Resolve(cfg.Sync.CAFile))
	if err != nil {
		a.Log.Error("update: the hub's CA cannot be read; this PC does not update itself", "err", err)
		return nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	s.rc = release.Client{TrustedRoot: root, BaseURL: strings.TrimSuffix(cfg.Sync.URL, "/") + "/releases",
		CacheDir: filepath.Join(cfg.DataDir, "release"), HTTP: &http.Client{Transport: tr, Timeout: 10 * time.Minute}}
	a.Go(func() { s.loop(ctx) })
	return nil
}

// hookSync joins the sync client: the heartbeat carries the update's state, the
// answers' offers reach the loop, and an accepted push counts towards the trial's
// health. Hooks already set (the configuration's) are kept and called first.
func (s *selfUpdate) hookSync(cc *upload.ClientConfig) {
	steering, onSteer, onAttempt := cc.Steering, cc.OnSteer, cc.OnAttempt
	cc.Steering = func() (*wire.ConfigState, *wire.UpdateState) {
		var c *wire.ConfigState
		if steering != nil {
			c, _ = steering()
		}
		return c, s.state()
	}
	cc.OnSteer = func(c *wire.ConfigOffer, r *wire.ReleaseOffer) {
		if onSteer != nil {
			onSteer(c, r)
		}
		if r != nil {
			s.offered(r)
		}
	}
	cc.OnAttempt = func(st upload.Status) {
		if onAttempt != nil {
			onAttempt(st)
		}
		s.attempted(st)
	}
}

// state is the heartbeat's account of the update.
func (s *selfUpdate) state() *wire.UpdateState {
	us := &wire.UpdateState{Running: s.a.Version}
	st, err := s.u.Status()
	if err != nil {
		return us
	}
	if st.Trial != nil && !st.Trial.Healthy {
		us.Trial = st.Trial.Version
	}
	if l := st.Last; l != nil {
		us.Outcome, us.Version, us.Reason = l.Outcome, l.Version, clip(l.Reason, wire.MaxBeatTextLen)
	}
	return us
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// offered is an answer's offer: acted on at once when it is new, else at check_every.
func (s *selfUpdate) offered(r *wire.ReleaseOffer) {
	s.mu.Lock()
	s.offerSeen = true
	s.want, s.rollout = r.Version, r.Rollout
	due := r.Version != s.lastWant || time.Since(s.lastTry) >= s.every
	s.mu.Unlock()
	if due {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// attempted follows each push: an accepted one without an offer withdraws the last
// (the rollout halted, or moved on).
func (s *selfUpdate) attempted(st upload.Status) {
	if st.Failures > 0 || st.LastSuccess.Before(s.started) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pushed = true
	if !s.offerSeen {
		s.want, s.rollout = "", ""
	}
	s.offerSeen = false
}

func (s *selfUpdate) loop(ctx context.Context) {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-t.C:
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(s.try())
	}
}

// try applies the wanted release if it can, and says when to look again.
func (s *selfUpdate) try() time.Duration {
	s.mu.Lock()
	want, rollout := s.want, s.rollout
	s.mu.Unlock()
	if want == "" && s.mode != config.UpdateLatest {
		return s.every // no rollout includes this PC
	}
	if st, err := s.u.Status(); err != nil || st.Trial != nil && !st.Trial.Healthy {
		return s.every
	}
	if s.a.Serving != nil && s.a.Serving() {
		return busyRetry
	}
	s.mu.Lock()
	s.lastTry, s.lastWant = time.Now(), want
	s.mu.Unlock()
	s.saveAnswering()
	v, err := s.u.CheckAndApply(s.rc, update.Kind(), s.a.Version, want)
	log := s.a.Log.With("component", "update", "want", want, "rollout", rollout)
	switch {
	case err == nil:
		log.Info("update: switched in on trial; restarting into it", "version", v)
		s.a.Restart(fmt.Errorf("%s switched in on trial", v))
		return s.every
	case errors.Is(err, release.ErrNotNewer), errors.Is(err, update.ErrTrialUnderway):
		log.Debug("update: nothing to apply", "why", err)
		return s.every
	case errors.Is(err, update.ErrBusy):
		return busyRetry
	case errors.Is(err, release.ErrUnreachable):
		s.mu.Lock()
		s.unreached++
		n := s.unreached
		s.mu.Unlock()
		log.Warn("update: the hub's releases are out of reach; trying again later", "times", n, "err", err)
		if n < maxUnreached {
			return s.every
		}
	}
	outcome := update.OutcomeFailed
	if errors.Is(err, release.ErrRefused) {
		outcome = update.OutcomeRefused
	}
	s.mu.Lock()
	s.unreached = 0
	s.mu.Unlock()
	log.Error("update: not applied", "outcome", outcome, "err", err)
	if rerr := s.u.Record(outcome, cmp.Or(want, "newest"), err.Error()); rerr != nil {
		log.Warn("update: outcome not recorded", "err", rerr)
	}
	return s.every
}

// saveAnswering records the devices answering now, before a switch.
func (s *selfUpdate) saveAnswering() {
	var names []string
	for _, d := range s.a.Health.List() {
		if d.State == health.OK && d.Kind != "sync" {
			names = append(names, d.Name)
		}
	}
	raw, _ := json.Marshal(names)
	path := answeringFile(s.a.Config)
	err := os.MkdirAll(filepath.Dir(path), 0o700)
	if err == nil {
		err = atomicfile.WriteFile(path, raw, 0o600)
	}
	if err != nil {
		s.a.Log.Warn("update: the devices answering now are not recorded; the new version is not asked for them", "err", err)
	}
}

// confirm proves a version on trial: its pages answer, the devices that answered
// before the switch answer again, and the hub accepted a push. Given up, the previous
// version is switched back and the agent restarts into it.
func (s *selfUpdate) confirm(ctx context.Context) {
	var before []string
	if raw, err := os.ReadFile(answeringFile(s.a.Config)); err == nil {
		json.Unmarshal(raw, &before)
	}
	err := s.u.Confirm(ctx, s.a.Version, func() bool { return s.healthy(before) }, confirmPoll)
	switch {
	case errors.Is(err, update.ErrRolledBack):
		s.a.Log.Error("update: this version did not prove healthy and was rolled back; restarting into the previous one", "err", err)
		s.a.Restart(err)
	case err != nil && ctx.Err() == nil:
		s.a.Log.Warn("update: confirm", "err", err)
	}
}

// healthy is the trial's gate; why it is not is logged when it changes.
func (s *selfUpdate) healthy(before []string) bool {
	why := s.unhealthy(before)
	s.mu.Lock()
	changed := why != s.why
	s.why = why
	s.mu.Unlock()
	if why == "" {
		s.a.Log.Info("update: this version is healthy; committed", "version", s.a.Version)
		return true
	}
	if changed {
		s.a.Log.Info("update: version on trial not yet healthy", "version", s.a.Version, "why", why)
	}
	return false
}

func (s *selfUpdate) unhealthy(before []string) string {
	host, port, err := net.SplitHostPort(s.a.Web.Addr())
	if err != nil {
		return "the pages are not served"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort(host, port) + "/healthz")
	if err != nil {
		return "the pages do not answer: " + err.Error()
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("/healthz answers %d", resp.StatusCode)
	}
	for _, name := range before {
		d, ok := s.a.Health.Get(name)
		if !ok || d.State == health.Fault || d.State == health.Absent {
			return "device " + name + " answered before the update and does not now"
		}
	}
	if s.a.Config.Sync.Enabled() {
		s.mu.Lock()
		pushed := s.pushed
		s.mu.Unlock()
		if !pushed {
			return "no push accepted by the hub yet"
		}
	}
	return ""
}
