package totals

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrUnknownSite means no device was ever enrolled at that site code.
var ErrUnknownSite = errors.New("unknown site")

// SiteChange says which of a site's names to change; a nil field stays as it is, and
// an empty string clears the name.
type SiteChange struct {
	Name, Province, Commune *string
}

// SetSite changes a site's name, province or commune after enrollment, so a site named
// wrongly (or not at all) at enrollment need not be revoked and re-enrolled. It returns
// the site as it was and as it is now. The counters follow at once: reports group by
// the site's current names.
func (h *Totals) SetSite(ctx context.Context, code string, c SiteChange) (before, after Site, err error) {
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		return before, after, fmt.Errorf("set site %s: begin: %w", code, err)
	}
	defer tx.Rollback()
	before.Code = code
	err = tx.QueryRowContext(ctx, `SELECT name, province, commune FROM sites WHERE site = ?`, code).
		Scan(&before.Name, &before.Province, &before.Commune)
	if errors.Is(err, sql.ErrNoRows) {
		return before, after, fmt.Errorf("set site %s: %w (enroll a device there first: motcua-hub enroll --site %s --device …)", code, ErrUnknownSite, code)
	}
	if err != nil {
		return before, after, fmt.Errorf("set site %s: look up: %w", code, err)
	}
	after = before
	for _, f := range []struct {
		to   *string
		into *string
	}{{c.Name, &after.Name}, {c.Province, &after.Province}, {c.Commune, &after.Commune}} {
		if f.to != nil {
			*f.into = *f.to
		}
	}
	if after == before {
		return before, after, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sites SET name = ?, province = ?, commune = ? WHERE site = ?`,
		after.Name, after.Province, after.Commune, code); err != nil {
		return before, after, fmt.Errorf("set site %s: %w", code, err)
	}
	if err := tx.Commit(); err != nil {
		return before, after, fmt.Errorf("set site %s: commit: %w", code, err)
	}
	return before, after, nil
}
