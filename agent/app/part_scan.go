package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"motcua-agent/agent/checkin"
	"motcua-agent/agent/clinic"
	"motcua-agent/agent/dossier"
	"motcua-agent/agent/health"
	"motcua-agent/config"
	"motcua-agent/drivers/cccd/simcard"
	"motcua-agent/drivers/ptypair"
	"motcua-agent/drivers/qrpayload"
	"motcua-agent/drivers/scanner"
)

// demoScans are fictional payloads the simulated scanner plays in the demo.
var demoScans = []string{
	"001099012345|123456789|Nguyễn Văn Bình|15031990|Nam|Số 1 Phố Huế, Hai Bà Trưng, Hà Nội|20042021",
	"H01.04-251120-0007|13",
	"040199000123||Trần Thị Ánh|01021999|Nữ|Xóm 3, Hưng Dũng, Nghệ An|05082024",
	"eyJhbGciOiJFUzI1NiJ9.eyJkZW1vIjoidm5laWQifQ.ZGVtby1zaWduYXR1cmU",
}

// demoScanner is a simulated scanner of the demo: where it stands and what it plays.
type demoScanner struct {
	config.Scanner
	every time.Duration
	scans []string
}

// demoScanners are the demo's scanners, each at the desk whose work it shows: one at
// the card reader's counter playing only the virtual card's own QR (so the card on the
// reader is read and verified there, as at a real counter), one at another counter
// playing other citizens' codes, dossier receipts and VNeID, and one at the first
// clinic desk playing insurance look-ups, slowly enough to read each.
func demoScanners(a *App) []demoScanner {
	base := config.Scanner{Purpose: config.ScanForCheckin, Suffix: config.SuffixCR, IdleGap: 400 * time.Millisecond, MaxScan: 4096, Baud: 9600}
	cardCounter, _ := a.Config.Card.CounterOf(simReaderName(a.Config))
	var sims []demoScanner
	if c, err := simcard.Load(simProfilePath(a.Config)); err == nil {
		sims = append(sims, demoScanner{Scanner: withName(base, "sim-qr-the", cardCounter), every: 30 * time.Second, scans: []string{c.QR}})
	}
	other := "2"
	for _, c := range a.Config.Queue.Counters {
		if c.ID != cardCounter {
			other = c.ID
			break
		}
	}
	sims = append(sims, demoScanner{Scanner: withName(base, "sim-qr", other), every: 8 * time.Second, scans: demoScans})
	if a.Config.Clinic.Enabled && len(a.Config.Clinic.Stations) > 0 {
		sims = append(sims, demoScanner{Scanner: withName(base, "sim-qr-clinic", a.Config.Clinic.Stations[0].ID),
			every: 45 * time.Second, scans: clinic.DemoScans()})
	}
	return sims
}

func withName(sc config.Scanner, name, counter string) config.Scanner {
	sc.Name, sc.Counter = name, counter
	return sc
}

func startScan(ctx context.Context, a *App) error {
	cfg := a.Config
	cl, err := qrpayload.NewClassifier(cfg.Dossier.ReceiptPattern)
	if err != nil {
		return err
	}
	flow := checkin.New(a.Store, a.IDs, a.Bus, cl, cfg.Site.ID, a.Log.With("flow", "checkin"), a.Metrics)
	dos := dossier.New(a.Store, cfg.Dossier, cfg.Site.ID, a.Log.With("flow", "dossier"))
	dos.Routes(a.Web)
	flow.Receipt = dos.ReceiptCounts

	scanners := append([]config.Scanner(nil), cfg.Scanners...)
	if cfg.Simulate {
		dir := filepath.Join(cfg.DataDir, "run")
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("simulated scanner: %w", err)
		}
		for _, sim := range demoScanners(a) {
			pair := ptypair.New(dir, sim.Name)
			if err := scanner.RunDemo(ctx, pair, []byte("\r"), sim.every, sim.scans); err != nil {
				a.Log.Warn("simulated scanner not started", "scanner", sim.Name, "err", err)
				continue
			}
			sim.Port = pair.Device
			scanners = append(scanners, sim.Scanner)
			a.Log.Info("simulated QR scanner on a pty", "scanner", sim.Name, "counter", sim.Counter, "device", pair.Device)
		}
	}
	scans := make(chan scanner.Scan, 256)
	for _, sc := range scanners {
		a.Health.Set(health.Device{Name: "scanner " + sc.Name, Kind: "scanner", State: health.Absent,
			Detail: "not opened yet", Message: "Chưa kết nối máy quét"})
	}
	a.Go(func() {
		scanner.RunAll(ctx, scanners, scans, func(name string, s scanner.State, detail string) {
			d := health.Device{Name: "scanner " + name, Kind: "scanner", Detail: detail}
			switch s {
			case scanner.StateOK:
				d.State, d.Message = health.OK, "Máy quét sẵn sàng"
			case scanner.StateFault:
				d.State, d.Message = health.Fault, "Máy quét bị lỗi"
			default:
				d.State, d.Message = health.Absent, "Máy quét chưa cắm hoặc bị rút ra"
			}
			a.Health.Set(d)
			a.Log.Info("scanner state", "scanner", name, "state", s, "detail", detail)
		})
	})
	a.Go(func() { flow.Run(ctx, scans) })
	return startDossierFolder(ctx, a, cl, dos)
}
