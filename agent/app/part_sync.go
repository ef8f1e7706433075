package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"motcua-agent/agent/health"
	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/config/vocab"
	"motcua-agent/sync/upload"
	"motcua-agent/sync/wire"
)

// StoreSource lets the sync client read the store: same rows, the client's own type.
type StoreSource struct{ Store *store.Store }

func (s StoreSource) CountersChangedSince(ctx context.Context, after int64, limit int) ([]upload.Counter, error) {
	rows, err := s.Store.CountersChangedSince(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]upload.Counter, len(rows))
	for i, r := range rows {
		out[i] = upload.Counter{Day: r.Day, Metric: r.Metric, Dims: r.Dims, Value: r.Value, Revision: r.Revision, Epoch: r.Epoch}
	}
	return out, nil
}

func (s StoreSource) LastRevision(ctx context.Context) (int64, error) {
	return s.Store.LastRevision(ctx)
}

func (s StoreSource) CountersPending(ctx context.Context, after int64) (int64, error) {
	return s.Store.CountersBacklog(ctx, after)
}

func (s StoreSource) Meta(ctx context.Context, key string) (string, bool, error) {
	return s.Store.Meta(ctx, key)
}

func (s StoreSource) SetMeta(ctx context.Context, key, value string) error {
	return s.Store.SetMeta(ctx, key, value)
}

// syncSecret reads the device secret from the config or its file.
func syncSecret(cfg *config.Config) ([]byte, error) {
	raw := cfg.Sync.Secret
	if cfg.Sync.SecretFile != "" {
		b, err := os.ReadFile(cfg.Resolve(cfg.Sync.SecretFile))
		if err != nil {
			return nil, fmt.Errorf("read sync.secret_file: %w", err)
		}
		raw = strings.TrimSpace(string(b))
	}
	key, err := wire.ParseSecret(raw)
	if err != nil {
		return nil, fmt.Errorf("sync secret: %w", err)
	}
	return key, nil
}

// NewSyncClient builds the client for a config over a source (StoreSource for the
// record).
func NewSyncClient(cfg *config.Config, src upload.Source, a *App) (*upload.Client, error) {
	key, err := syncSecret(cfg)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := upload.LoadCA(cfg.Resolve(cfg.Sync.CAFile))
	if err != nil {
		return nil, err
	}
	cc := upload.ClientConfig{
		HubURL: cfg.Sync.URL, Site: cfg.Site.ID, Device: cfg.Site.DeviceID, Secret: key, TLS: tlsCfg,
		Interval: cfg.Sync.Interval, BatchSize: cfg.Sync.BatchSize, MinBackoff: cfg.Sync.MinBackoff,
		MaxBackoff: cfg.Sync.MaxBackoff, Timeout: cfg.Sync.Timeout, Version: Version,
	}
	cc.Names = func() []wire.Name { return siteNames(cfg) }
	var client *upload.Client
	steerHooks(a, &cc, &client)
	if a != nil {
		cc.Log = a.Log.With("component", "sync")
		cc.Devices = func() []wire.DeviceState { return deviceStates(a.Health) }
		backlog := a.Metrics.Gauge("motcua_sync_backlog_rows", "Counter rows not yet acknowledged by the hub.")
		failures := a.Metrics.Gauge("motcua_sync_consecutive_failures", "Failed pushes since the last success.")
		lastSuccess := a.Metrics.Gauge("motcua_sync_last_success_seconds", "Unix time of the last acknowledged push.")
		sent := a.Metrics.Gauge("motcua_sync_sent_rows", "Counter rows acknowledged since the agent started.")
		cc.OnAttempt = func(st upload.Status) {
			a.Health.Set(syncHealth(st))
			backlog.Set(float64(st.Backlog))
			failures.Set(float64(st.Failures))
			sent.Set(float64(st.Sent))
			if !st.LastSuccess.IsZero() {
				lastSuccess.Set(float64(st.LastSuccess.Unix()))
			}
		}
		if a.update != nil {
			a.update.hookSync(&cc)
		}
	}
	client, err = upload.NewClient(cc, src)
	return client, err
}

// siteNames are the config's names for the site's codes, as the push carries them
// (sorted, so unchanged names are recognised and not sent again).
func siteNames(cfg *config.Config) []wire.Name {
	var out []wire.Name
	for kind, codes := range cfg.Names() {
		for code, name := range codes {
			out = append(out, wire.Name{Kind: kind, Code: code, Name: name})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Code < out[j].Code
	})
	return out
}

// deviceStates is the heartbeat's view of the devices: names, kinds, states and the
// English detail only (never the staff message, never personal data).
func deviceStates(reg *health.Registry) []wire.DeviceState {
	var out []wire.DeviceState
	for _, d := range reg.List() {
		if d.Kind == "sync" {
			continue
		}
		out = append(out, wire.DeviceState{Name: d.Name, Kind: d.Kind, State: string(d.State), Detail: d.Detail})
	}
	return out
}

func syncHealth(st upload.Status) health.Device {
	d := health.Device{Name: "sync", Kind: "sync", State: health.OK,
		Detail: "counters sent to the hub", Message: "Số liệu đã gửi lên máy chủ tỉnh."}
	if st.Failures > 0 {
		d.State, d.Detail, d.Message = health.Degraded, st.LastError, st.LastErrorVi
		// A day without success, or a refusal only a person can fix, is a fault.
		needsPerson := strings.Contains(st.LastError, "enroll") || strings.Contains(st.LastError, "secret") || strings.Contains(st.LastError, "revoked")
		if needsPerson || (!st.LastSuccess.IsZero() && st.LastAttempt.Sub(st.LastSuccess) > 24*time.Hour) {
			d.State = health.Fault
		}
	}
	return d
}

// clockOffsetVI says how this PC's clock stands against the hub's (offset: hub minus
// agent) in words: "đúng giờ", "chậm 2 phút", "nhanh 5 giây".
func clockOffsetVI(offset time.Duration) string {
	switch {
	case offset > -time.Second && offset < time.Second:
		return "đúng giờ"
	case offset > 0:
		return "máy này chậm " + vocab.Duration(offset)
	}
	return "máy này nhanh " + vocab.Duration(-offset)
}

// SyncStatusBlock is the dashboard's sync card, in Vietnamese.
func SyncStatusBlock(st upload.Status) web.Block {
	when := func(t time.Time) string {
		if t.IsZero() {
			return "chưa có"
		}
		return t.Local().Format("15:04:05 02/01/2006")
	}
	b := web.Block{Title: textSyncTitle}
	b.Add("Máy chủ tỉnh", st.Hub)
	b.AddNumber("Số dòng chờ gửi", st.Backlog)
	b.Add("Gửi thành công lần cuối", when(st.LastSuccess))
	b.Add("Lần thử gần nhất", when(st.LastAttempt))
	b.Add("Lệch đồng hồ với máy chủ", clockOffsetVI(time.Duration(st.ClockOffsetMS)*time.Millisecond))
	if st.LastErrorVi != "" {
		b.Add("Lỗi gần nhất", st.LastErrorVi)
		b.AddNumber("Số lần lỗi liên tiếp", int64(st.Failures))
		b.Warn()
	} else {
		b.Add("Tình trạng", "Bình thường")
	}
	if st.Rewound != "" {
		b.Add("Sổ ghi đã bị thay hoặc khôi phục từ bản cũ", "Máy chủ tỉnh đã nhận số liệu mới hơn sổ ghi này. Số liệu từ nay được cộng thêm, không bị tính trùng.")
	}
	return b
}

const textSyncTitle = "Đồng bộ lên máy chủ tỉnh"

// startSync pushes the day's counters to the provincial hub, when one is configured.
func startSync(ctx context.Context, a *App) error {
	if !a.Config.Sync.Enabled() {
		a.Web.AddStatus("sync", func(context.Context) web.Block {
			return web.Block{Title: textSyncTitle, Rows: []web.Row{{Label: "Tình trạng", Value: "Chưa cấu hình máy chủ tỉnh (sync.url)"}}}
		})
		return nil
	}
	c, err := NewSyncClient(a.Config, StoreSource{Store: a.Store}, a)
	if err != nil {
		return err
	}
	a.Web.AddStatus("sync", func(context.Context) web.Block { return SyncStatusBlock(c.Status()) })
	a.Web.HandleFunc("GET /api/v1/sync/status", func(w http.ResponseWriter, r *http.Request) {
		writeSyncJSON(w, http.StatusOK, c.Status())
	}, web.RoleAdmin)
	a.Web.HandleFunc("POST /api/v1/sync/now", func(w http.ResponseWriter, r *http.Request) {
		pctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
		defer cancel()
		code := http.StatusOK
		if err := c.PushNow(pctx); err != nil {
			code = http.StatusBadGateway
		}
		writeSyncJSON(w, code, c.Status())
	}, web.RoleAdmin)
	a.Go(func() {
		c.Run(ctx)
	})
	return nil
}

func writeSyncJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
