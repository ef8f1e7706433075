package main

import (
	"context"

	"motcua-agent/agent/dossier"
	"motcua-agent/drivers/qrpayload"
)

// startDossierFolder watches the scan folder (filled in with drivers/qrimage).
func startDossierFolder(ctx context.Context, a *App, cl *qrpayload.Classifier, dos *dossier.Flow) error {
	return nil
}
