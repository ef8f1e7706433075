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

func startScan(ctx context.Context, a *App) error {
	cfg := a.Config
	cl, err := qrpayload.NewClassifier(cfg.Dossier.ReceiptPattern)
	if err != nil {
		return err
	}
	flow := checkin.New(a.Store, a.IDs, a.Bus, cl, cfg.Site.ID, a.Log.With("flow", "checkin"), a.Metrics)
	dos := dossier.New(a.Store, cfg.Dossier, cfg.Site.ID, a.Log.With("flow", "dossier"))
	dos.Counters = cfg.CounterNames()
	dos.Routes(a.Web)
	flow.Receipt = dos.ReceiptCounts

	scanners := append([]config.Scanner(nil), cfg.Scanners...)
	if cfg.Simulate {
		dir := filepath.Join(cfg.DataDir, "run")
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("simulated scanner: %w", err)
		}
		pair := ptypair.New(dir, "sim-qr")
		if err := scanner.RunDemo(ctx, pair, []byte("\r"), 8*time.Second, append(demoScans, clinic.DemoScans()...)); err != nil {
			a.Log.Warn("simulated scanner not started", "err", err)
		} else {
			sc := config.Scanner{Name: "sim-qr", Counter: "quay-1", Port: pair.Device, Purpose: config.ScanForCheckin,
				Suffix: config.SuffixCR, IdleGap: 400 * time.Millisecond, MaxScan: 4096, Baud: 9600}
			scanners = append(scanners, sc)
			a.Log.Info("simulated QR scanner on a pty", "device", pair.Device)
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
