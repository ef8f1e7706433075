package app

import (
	"context"
	"time"

	"motcua-agent/agent/dossier"
	"motcua-agent/agent/health"
	"motcua-agent/drivers/qrimage"
	"motcua-agent/drivers/qrpayload"
)

// startDossierFolder watches dossier.scan_folder: each scanned page counts toward its
// dossier's digitisation.
func startDossierFolder(ctx context.Context, a *App, cl *qrpayload.Classifier, dos *dossier.Flow) error {
	d := a.Config.Dossier
	if d.ScanFolder == "" {
		return nil
	}
	dir := a.Config.Resolve(d.ScanFolder)
	pages := &dossier.Pages{Flow: dos, Classifier: cl, FollowFor: 10 * time.Minute}
	w := &qrimage.Watcher{Dir: dir, Settle: d.Settle, Marks: dossier.StoreMarks{Store: a.Store},
		Options: qrimage.Options{MaxBytes: d.MaxFileBytes, MaxPixels: d.MaxImagePixels}, Handle: pages.Handle,
		OnError: dossier.FolderErrors(dir, a.Log)}
	a.Health.Set(health.Device{Name: "scan folder", Kind: "scanner", State: health.OK, Detail: dir, Message: "Đang theo dõi thư mục quét hồ sơ"})
	a.Go(func() {
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			a.Log.Error("scan folder stopped", "err", err)
			a.Health.Set(health.Device{Name: "scan folder", Kind: "scanner", State: health.Fault, Detail: err.Error(),
				Message: "Không theo dõi được thư mục quét hồ sơ"})
		}
	})
	return nil
}
