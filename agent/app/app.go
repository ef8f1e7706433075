package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/health"
	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/internal/metrics"
)

// Version is set at build time with -ldflags "-X motcua-agent/agent/app.Version=…".
var Version = "dev"

// App is the running agent: the pieces every part is given.
type App struct {
	Config  *config.Config
	Log     *slog.Logger
	Store   *store.Store
	IDs     *store.IDHasher
	Bus     *bus.Bus
	Health  *health.Registry
	Metrics *metrics.Registry
	Web     *web.Server
	Tokens  map[web.Role]string
	// Ready, when set, is called once every part has started and the pages are served.
	Ready   func()
	Now     func() time.Time
	Version string
	// Serving, when set (by the queue), says a ticket is being served: no update is
	// applied meanwhile.
	Serving func() bool

	wg     sync.WaitGroup
	update *selfUpdate             // part_update.go
	stop   context.CancelCauseFunc // ends Run; a cause wrapping ErrRestart is returned by it
	steer  *steerer                // the hub's configuration (part_config.go); nil outside RunSteered
}

// Go runs f as a goroutine the shutdown waits for; f must return when the run's
// context is cancelled.
func (a *App) Go(f func()) {
	a.wg.Add(1)
	go func() { defer a.wg.Done(); f() }()
}

func NewLogger(c *config.Config) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// Open opens the store and builds the pieces, without starting flows or listening.
func Open(ctx context.Context, cfg *config.Config) (*App, error) {
	log := NewLogger(cfg)
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data folder %s: %w", cfg.DataDir, err)
	}
	reg := metrics.New()
	st, err := store.Open(ctx, store.Options{Path: filepath.Join(cfg.DataDir, "agent.db"), Location: cfg.Location(),
		Logger: log, Metrics: reg})
	if err != nil {
		return nil, err
	}
	ids, err := store.LoadIDHasher(cfg.Privacy.SecretFile)
	if err != nil {
		st.Close()
		return nil, err
	}
	tokens, err := LoadTokens(cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	a := &App{Config: cfg, Log: log, Store: st, IDs: ids, Bus: bus.New(nil), Health: health.New(nil),
		Metrics: reg, Tokens: tokens, Now: time.Now, Version: Version}
	a.Web = web.New(web.Options{Config: cfg, Tokens: tokens, Store: st, Bus: a.Bus, Health: a.Health,
		Metrics: reg, Log: log, Version: Version})
	return a, nil
}

// LoadTokens takes each role's token from the config, or from tokens/<role> in the
// data folder, generating one there (mode 0600) on first run.
func LoadTokens(cfg *config.Config) (map[web.Role]string, error) {
	out := map[web.Role]string{}
	dir := filepath.Join(cfg.DataDir, "tokens")
	for role, tok := range cfg.HTTP.Tokens.Map() {
		if tok != "" {
			out[web.Role(role)] = tok
			continue
		}
		path := filepath.Join(dir, role)
		b, err := os.ReadFile(path)
		if err == nil && len(strings.TrimSpace(string(b))) >= 16 {
			out[web.Role(role)] = strings.TrimSpace(string(b))
			continue
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("token %s: %w", role, err)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("token folder: %w", err)
		}
		raw := make([]byte, 18)
		_, _ = rand.Read(raw)
		tok = hex.EncodeToString(raw)
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("token %s: %w", role, err)
		}
		out[web.Role(role)] = tok
	}
	return out, nil
}

// Run starts every part in the order of Parts, then the HTTP server, and blocks until
// ctx ends; then it stops the parts, waits for them and returns. The caller closes the
// store.
func (a *App) Run(ctx context.Context) error {
	ctx, stop := context.WithCancelCause(ctx)
	cancel := func() { stop(nil) }
	defer cancel()
	a.stop = stop
	for _, p := range Parts {
		if err := p.Start(ctx, a); err != nil {
			cancel()
			a.wait(5 * time.Second)
			return fmt.Errorf("start %s: %w", p.Name, err)
		}
	}
	if err := a.Web.Start(); err != nil {
		cancel()
		a.wait(5 * time.Second)
		return fmt.Errorf("listen on %s: %w (is another agent running? use --listen)", a.Config.HTTP.Listen, err)
	}
	a.Log.Info("agent running", "version", a.Version, "site", a.Config.Site.ID, "device", a.Config.Site.DeviceID,
		"http", a.Web.Addr(), "data", a.Config.DataDir)
	if a.Ready != nil {
		a.Ready()
	}
	<-ctx.Done()
	a.Log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer scancel()
	_ = a.Web.Shutdown(sctx)
	a.wait(5 * time.Second)
	if err := context.Cause(ctx); errors.Is(err, ErrRestart) {
		return err
	}
	return nil
}

func (a *App) wait(limit time.Duration) {
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
		a.Log.Warn("some flows did not stop in time", "waited", limit)
	}
}

// Close flushes and closes the store.
func (a *App) Close() error { return a.Store.Close() }

// startRetention prunes old events a minute after start and then daily.
func startRetention(ctx context.Context, a *App) error {
	keep := time.Duration(a.Config.Privacy.RetentionDays) * 24 * time.Hour
	a.Go(func() {
		t := time.NewTimer(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if n, err := a.Store.Prune(ctx, keep); err != nil {
					a.Log.Warn("retention: prune failed", "err", err)
				} else if n > 0 {
					a.Log.Info("retention: pruned old events", "events", n, "retention_days", a.Config.Privacy.RetentionDays)
				}
				t.Reset(24 * time.Hour)
			}
		}
	})
	return nil
}
