package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"motcua-agent/agent/web"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"motcua-agent/agent/health"
	"motcua-agent/config"
	"motcua-agent/sync/upload"
	"motcua-agent/sync/wire"
)

// Configuration from the hub (PROTOCOL.md, "Steering"). The hub's configuration is a
// layer over the site's own file, never written into it; this PC keeps the layer it
// runs in <data>/hub-config/ (mode 0600: it may hold tokens). An offer is fetched,
// checked by config.ParseLayered (the very function `config check` uses), and applied
// in this process: the running agent's flows are stopped and the agent is opened again
// on the new configuration. Nothing waiting is lost that way (tickets, counters and
// the outbox live in the record, which is closed cleanly and reopened), it works the
// same under the Windows service manager, systemd and a console, and the agent can
// watch its own trial: if within the health window its pages do not answer, a device
// that answered before has stopped answering, or no push reaches the hub, it goes
// back to the previous configuration and reports the refusal.
//
// A technician's edit of the site file wins: once the file differs from the one the
// hub's layer was applied over, the agent runs the file alone at its next start,
// reports Source "local" and holds the hub's offers back until `motcua-agent config
// use-hub`.

// DefaultHealthWindow is how long a new configuration has to prove itself.
const DefaultHealthWindow = 2 * time.Minute

// SteerOptions say where the site's file is and how a new configuration is judged.
type SteerOptions struct {
	// Path is the site file; "" runs the embedded demo.
	Path      string
	Overrides config.Overrides
	// HealthWindow is the trial's length (DefaultHealthWindow).
	HealthWindow time.Duration
	// Ready, if set, is called with each opening of the agent once it serves.
	Ready func(*App)
}

// hubLayerState is <data>/hub-config/state.json.
type hubLayerState struct {
	Version     string `json:"version,omitempty"`      // the committed layer's (layer.yaml)
	LocalSHA256 string `json:"local_sha256,omitempty"` // the site file it was applied over
	Trial       string `json:"trial,omitempty"`        // a layer on trial (trial.yaml)
	Refused     string `json:"refused,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// HubLayer is the hub's configuration as this PC keeps it.
type HubLayer struct {
	dir  string
	mu   sync.Mutex
	st   hubLayerState
	path string // the site file ("" the demo)
}

// OpenHubLayer reads the state kept in the data folder dataDir.
func OpenHubLayer(dataDir, sitePath string) (*HubLayer, error) {
	l := &HubLayer{dir: filepath.Join(dataDir, "hub-config"), path: sitePath}
	b, err := os.ReadFile(filepath.Join(l.dir, "state.json"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("data folder %s: hub configuration state: %w", dataDir, err)
	}
	if err == nil {
		if err := json.Unmarshal(b, &l.st); err != nil {
			return nil, fmt.Errorf("hub configuration state %s: %w", filepath.Join(l.dir, "state.json"), err)
		}
	}
	return l, nil
}

// Local is the site file's text (the embedded demo's when there is no file).
func (l *HubLayer) Local() ([]byte, error) {
	if l.path == "" {
		return config.Example(config.ProfileDemo)
	}
	b, err := os.ReadFile(l.path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return b, nil
}

// sitePath is the path the site file's relative paths are anchored at.
func (l *HubLayer) sitePath() string {
	if l.path == "" {
		wd, _ := os.Getwd()
		return filepath.Join(wd, "demo.yaml")
	}
	abs, _ := filepath.Abs(l.path)
	return abs
}

// LocallyEdited reports whether the site file changed since the hub's layer was
// applied over it (then the file wins).
func (l *HubLayer) LocallyEdited() bool {
	st := l.state()
	if st.Version == "" {
		return false
	}
	local, err := l.Local()
	return err != nil || config.Digest(local) != st.LocalSHA256
}

// Load is the configuration this PC runs: the site file with the hub's layer over it
// (the trial's, while one runs), or the file alone when it was edited since, or when
// nothing was applied. trial names the version on trial ("" if none).
func (l *HubLayer) Load(ov config.Overrides, log *slog.Logger) (cfg *config.Config, trial string, err error) {
	local, err := l.Local()
	if err != nil {
		return nil, "", err
	}
	st := l.state()
	if st.Trial != "" {
		layer, err := os.ReadFile(filepath.Join(l.dir, "trial.yaml"))
		if err == nil {
			cfg, err = config.ParseLayered(local, l.sitePath(), layer, st.Trial, ov)
		}
		return cfg, st.Trial, err
	}
	if st.Version != "" && config.Digest(local) == st.LocalSHA256 {
		layer, err := os.ReadFile(filepath.Join(l.dir, "layer.yaml"))
		if err == nil {
			if cfg, err = config.ParseLayered(local, l.sitePath(), layer, st.Version, ov); err == nil {
				return cfg, "", nil
			}
		}
		log.Warn("the hub's configuration no longer applies; running the site file alone", "version", st.Version, "err", err)
	}
	cfg, err = config.ParseLayered(local, l.sitePath(), nil, "", ov)
	return cfg, "", err
}

func (l *HubLayer) save() error {
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(l.st, "", "  ")
	tmp := filepath.Join(l.dir, "state.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(l.dir, "state.json"))
}

// UseHub hands the site file back to the hub: its current text becomes the one the
// hub's layer applies over, and offers are taken again.
func (l *HubLayer) UseHub() (string, error) {
	local, err := l.Local()
	if err != nil {
		return "", err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reloadLocked()
	l.st.LocalSHA256 = config.Digest(local)
	return l.st.Version, l.save()
}

// startTrial keeps a checked layer as the one on trial.
func (l *HubLayer) startTrial(version string, layer []byte) error {
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(l.dir, "trial.yaml"), layer, 0o600); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reloadLocked()
	l.st.Trial = version
	return l.save()
}

// commit makes the trial's layer the one this PC runs.
func (l *HubLayer) commit(version string) error {
	local, err := l.Local()
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reloadLocked()
	if l.st.Trial != version {
		return nil
	}
	if err := os.Rename(filepath.Join(l.dir, "trial.yaml"), filepath.Join(l.dir, "layer.yaml")); err != nil {
		return err
	}
	l.st = hubLayerState{Version: version, LocalSHA256: config.Digest(local)}
	return l.save()
}

// refuse records a refused version, ending its trial if it had one.
func (l *HubLayer) refuse(version, reason string) error {
	if len(reason) > wire.MaxBeatTextLen {
		reason = reason[:wire.MaxBeatTextLen-3] + "..."
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reloadLocked()
	if l.st.Trial == version {
		l.st.Trial = ""
		os.Remove(filepath.Join(l.dir, "trial.yaml"))
	}
	l.st.Refused, l.st.Reason = version, reason
	return l.save()
}

// state is the kept state, read again from its file: `motcua-agent config use-hub`,
// another process, changes it under the running agent.
func (l *HubLayer) state() hubLayerState {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reloadLocked()
	return l.st
}

func (l *HubLayer) reloadLocked() {
	if b, err := os.ReadFile(filepath.Join(l.dir, "state.json")); err == nil {
		var st hubLayerState
		if json.Unmarshal(b, &st) == nil {
			l.st = st
		}
	}
}

// steerer runs the agent under the hub's configuration: it is what the sync client's
// steering hooks reach.
type steerer struct {
	layer  *HubLayer
	opts   SteerOptions
	log    *slog.Logger
	offers chan steerOffer

	mu      sync.Mutex
	app     *App               // the opening that serves now
	running string             // its layer's version
	stop    context.CancelFunc // stops it (to open again)
	held    string             // an offer held back by a local edit
}

type steerOffer struct {
	offer *wire.ConfigOffer
	fetch func(context.Context) ([]byte, error)
}

// RunSteered runs the agent on the site file with the hub's configuration over it,
// applying the hub's offers as they come, until ctx ends.
func RunSteered(ctx context.Context, so SteerOptions) error {
	if so.HealthWindow <= 0 {
		so.HealthWindow = DefaultHealthWindow
	}
	probe := &HubLayer{path: so.Path}
	local, err := probe.Local()
	if err != nil {
		return err
	}
	base, err := config.ParseLayered(local, probe.sitePath(), nil, "", so.Overrides)
	if err != nil {
		return err
	}
	layer, err := OpenHubLayer(base.DataDir, so.Path)
	if err != nil {
		return err
	}
	s := &steerer{layer: layer, opts: so, log: NewLogger(base).With("component", "config"), offers: make(chan steerOffer, 1)}
	if st := layer.state(); st.Trial != "" {
		// The agent stopped during a trial (perhaps the configuration crashed it).
		s.log.Warn("configuration refused: the agent stopped during its trial", "version", st.Trial)
		layer.refuse(st.Trial, "the agent stopped during its trial")
	}
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	go s.work(wctx)
	for {
		cfg, trial, err := layer.Load(so.Overrides, s.log)
		if err != nil {
			if trial != "" {
				s.refuse(trial, firstProblem(err))
				continue
			}
			return err
		}
		a, err := Open(ctx, cfg)
		if err != nil {
			if trial != "" {
				s.refuse(trial, "cannot start: "+err.Error())
				continue
			}
			return err
		}
		a.steer = s
		a.Web.AddStatus("config", s.statusBlock)
		runCtx, stop := context.WithCancel(ctx)
		s.mu.Lock()
		s.app, s.running, s.stop = a, cfg.HubVersion(), stop
		s.mu.Unlock()
		a.Ready = func() {
			if trial != "" {
				a.Go(func() { s.gate(runCtx, a, trial) })
			}
			if so.Ready != nil {
				so.Ready(a)
			}
		}
		err = a.Run(runCtx)
		stop()
		s.mu.Lock()
		s.app, s.stop = nil, nil
		s.mu.Unlock()
		cerr := a.Close()
		if ctx.Err() != nil {
			if err == nil && cerr == nil {
				a.Log.Info("stopped cleanly")
			}
			return errors.Join(err, cerr)
		}
		if err != nil && trial != "" && layer.state().Trial == trial {
			s.refuse(trial, err.Error())
			continue
		}
		if err != nil {
			return err
		}
		if cerr != nil {
			return cerr
		}
		a.Log.Info("configuration changed: opening the agent again", "config_version", layer.state().Version, "trial", layer.state().Trial)
	}
}

// firstProblem is a check's first problem, as the refusal's reason.
func firstProblem(err error) string {
	var p *config.Problems
	if errors.As(err, &p) && len(p.List) > 0 {
		return "config check: " + p.List[0].Path + ": " + p.List[0].Msg
	}
	return err.Error()
}

// refuse records a refused version and, if it runs, goes back to the previous one.
func (s *steerer) refuse(version, reason string) {
	s.log.Warn("configuration refused; keeping the previous one", "version", version, "reason", reason)
	if err := s.layer.refuse(version, reason); err != nil {
		s.log.Error("record the refused configuration", "err", err)
	}
	s.mu.Lock()
	stop := s.stop
	running := s.running
	s.mu.Unlock()
	if stop != nil && running == version {
		stop()
	}
}

// configState is the heartbeat's account (the sync client's Steering hook).
func (s *steerer) configState() *wire.ConfigState {
	st := s.layer.state()
	s.mu.Lock()
	running := s.running
	s.mu.Unlock()
	cs := &wire.ConfigState{Version: running, Source: "hub", Refused: st.Refused, Reason: st.Reason}
	if s.layer.LocallyEdited() {
		cs.Source = "local"
	}
	return cs
}

// offered takes an offer from a push's answer (the OnSteer hook); it never blocks.
func (s *steerer) offered(o steerOffer) {
	select {
	case s.offers <- o:
	default: // one is being worked on; the next push offers again
	}
}

func (s *steerer) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case o := <-s.offers:
			s.consider(ctx, o)
		}
	}
}

// consider fetches, checks and tries an offer.
func (s *steerer) consider(ctx context.Context, o steerOffer) {
	v := o.offer.Version
	st := s.layer.state()
	s.mu.Lock()
	running, app := s.running, s.app
	s.mu.Unlock()
	if v == running || v == st.Refused || st.Trial != "" || app == nil {
		return
	}
	if s.layer.LocallyEdited() {
		s.mu.Lock()
		if s.held != v {
			s.log.Warn("the site file was edited here: the hub's configuration is held back until `motcua-agent config use-hub`", "version", v)
		}
		s.held = v
		s.mu.Unlock()
		return
	}
	fctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	layer, err := o.fetch(fctx)
	if err != nil {
		s.log.Warn("fetch the hub's configuration (tried again with the next push)", "version", v, "err", err)
		return
	}
	local, err := s.layer.Local()
	if err != nil {
		s.log.Warn("read the site file", "err", err)
		return
	}
	if _, err := config.ParseLayered(local, s.layer.sitePath(), layer, v, s.opts.Overrides); err != nil {
		s.refuse(v, firstProblem(err))
		return
	}
	if err := s.layer.startTrial(v, layer); err != nil {
		s.log.Error("keep the hub's configuration", "err", err)
		return
	}
	s.log.Info("applying the hub's configuration", "version", v)
	s.mu.Lock()
	s.held = ""
	stop := s.stop
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// gate watches a trial: committed once the agent is healthy, refused (and the previous
// configuration restored) when it is not within the window.
func (s *steerer) gate(ctx context.Context, a *App, version string) {
	deadline := time.NewTimer(s.opts.HealthWindow)
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	why := "not checked yet"
	for {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			s.refuse(version, fmt.Sprintf("not healthy within %s: %s", s.opts.HealthWindow, why))
			return
		case <-tick.C:
			if why = unhealthy(ctx, a); why == "" {
				if err := s.layer.commit(version); err != nil {
					s.log.Error("commit the hub's configuration", "err", err)
					continue
				}
				s.log.Info("the hub's configuration is healthy: committed", "version", version)
				return
			}
		}
	}
}

// unhealthy says why the agent is not healthy yet, "" when it is: its pages answer,
// no device is at fault, and a push reached the hub since it opened.
func unhealthy(ctx context.Context, a *App) string {
	if !a.Config.Sync.Enabled() {
		return "sync is off (no sync.url): the hub cannot be reached"
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, "http://"+a.Web.Addr()+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "the agent's web server does not answer"
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("/healthz answers %d", resp.StatusCode)
	}
	pushed := false
	for _, d := range a.Health.List() {
		if d.Kind == "sync" {
			pushed = d.State == health.OK
			continue
		}
		if d.State == health.Fault {
			return "device " + d.Name + " is not answering (" + d.Detail + ")"
		}
	}
	if !pushed {
		return "no push accepted by the hub"
	}
	return ""
}

// statusBlock is the dashboard's configuration card, in Vietnamese: a local edit holding
// the province's configuration back, or a refused version, asks for a look.
func (s *steerer) statusBlock(context.Context) web.Block {
	st := s.layer.state()
	s.mu.Lock()
	running, held := s.running, s.held
	s.mu.Unlock()
	b := web.Block{Title: "Cấu hình từ máy chủ tỉnh"}
	if running != "" {
		b.Add("Đang chạy", "bản "+running+" của máy chủ tỉnh, áp lên tệp cấu hình tại máy")
	} else {
		b.Add("Đang chạy", "tệp cấu hình tại máy")
	}
	if s.layer.LocallyEdited() {
		msg := "Tệp cấu hình tại máy đã được sửa: giữ bản tại máy, tạm giữ lại cấu hình của tỉnh. Khi sửa xong, chạy lệnh motcua-agent config use-hub để nhận lại cấu hình của tỉnh."
		if held != "" {
			msg += " Bản của tỉnh đang chờ: " + held + "."
		}
		b.Add("Sửa tại máy", msg)
		b.Warn()
	}
	if st.Trial != "" {
		b.Add("Đang thử", "bản "+st.Trial+" (tự quay về bản trước nếu máy không hoạt động tốt)")
	}
	if st.Refused != "" {
		b.Add("Đã từ chối", "bản "+st.Refused+", giữ bản trước. Lý do (ghi cho kỹ thuật viên): "+st.Reason)
		b.Warn()
	}
	return b
}

// steerHooks wires the sync client's steering hooks to the agent's steerer (none when
// the agent runs outside RunSteered). client is set once the client exists.
func steerHooks(a *App, cc *upload.ClientConfig, client **upload.Client) {
	if a == nil || a.steer == nil {
		return
	}
	s := a.steer
	cc.Steering = func() (*wire.ConfigState, *wire.UpdateState) { return s.configState(), nil }
	cc.OnSteer = func(co *wire.ConfigOffer, _ *wire.ReleaseOffer) {
		if co == nil || *client == nil {
			return
		}
		c, offer := *client, *co
		s.offered(steerOffer{offer: &offer, fetch: func(ctx context.Context) ([]byte, error) { return c.FetchConfig(ctx, &offer) }})
	}
}
