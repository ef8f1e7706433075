package app

import (
	"context"
	"time"

	"motcua-agent/agent/health"
)

// recordProbeEvery is how often the record is checked while it cannot take writes.
const recordProbeEvery = 3 * time.Second

// startRecord watches the record's storage: while writes fail (a full disk, a
// read-only record) it probes every few seconds, so the agent takes writes again by
// itself as soon as it can, and it keeps the record's state on the dashboard and
// /healthz. A record started afresh after damage is said there too.
func startRecord(ctx context.Context, a *App) error {
	show := func() {
		d := health.Device{Name: "record", Kind: "store", State: health.OK}
		if aside, at, ok := a.Store.Reset(); ok {
			d.State, d.Detail = health.Degraded, "record started afresh after damage; old file at "+aside
			d.Message = "Sổ ghi bị hỏng và đã được làm mới lúc " + at.In(a.Store.Location()).Format("15:04 02/01/2006") +
				". Bản cũ được giữ lại: bộ phận CNTT gửi phần còn đọc được lên tỉnh bằng lệnh «motcua-agent store recover»."
		}
		if f := a.Store.Fault(); f != nil {
			d.State, d.Detail, d.Message = health.Fault, f.Err, f.Message()
		}
		if old, ok := a.Health.Get(d.Name); !ok || old.State != d.State || old.Message != d.Message {
			a.Health.Set(d)
		}
	}
	show()
	a.Go(func() {
		t := time.NewTicker(recordProbeEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if a.Store.Fault() != nil {
					_ = a.Store.Probe(ctx) // success clears the fault
				}
				show()
			}
		}
	})
	return nil
}
