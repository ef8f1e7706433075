package store

// The shapes of a question to the totals (a period, a filter, a grouping) and the one
// query that answers it, from the summaries when they can (summary.go), else from the
// raw rows.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"motcua-agent/config/vocab"
	"motcua-agent/sync/wire"
)

// Metric names the service table reads. Dimensions: "service" (the service code) and,
// on dossiers.received, "channel" ("online" for dossiers that came in online).
const (
	MetricDossiersReceived  = vocab.DossiersReceived
	MetricDossiersDigitized = vocab.DossiersDigitized
)

// Period is an inclusive range of days.
type Period struct {
	Kind  string `json:"kind"` // day, week, month
	Label string `json:"label"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// ParsePeriod reads "day" 2026-11-23, "week" 2026-W48 (ISO week) or "month" 2026-11.
func ParsePeriod(kind, at string) (Period, error) {
	p := Period{Kind: kind, Label: at}
	switch kind {
	case "day":
		d, err := wire.ParseDay(at)
		if err != nil {
			return p, err
		}
		p.From, p.To = d.Format(time.DateOnly), d.Format(time.DateOnly)
	case "week":
		var year, week int
		if _, err := fmt.Sscanf(at, "%4d-W%2d", &year, &week); err != nil || week < 1 || week > 53 || len(at) != 8 {
			return p, fmt.Errorf("week %q is not YYYY-Www", at)
		}
		// ISO week 1 holds January 4th; weeks start on Monday.
		jan4 := time.Date(year, 1, 4, 0, 0, 0, 0, time.UTC)
		monday := jan4.AddDate(0, 0, -((int(jan4.Weekday())+6)%7)).AddDate(0, 0, 7*(week-1))
		if y, w := monday.ISOWeek(); y != year || w != week {
			return p, fmt.Errorf("week %q does not exist", at)
		}
		p.From, p.To = monday.Format(time.DateOnly), monday.AddDate(0, 0, 6).Format(time.DateOnly)
	case "month":
		m, err := time.Parse("2006-01", at)
		if err != nil {
			return p, fmt.Errorf("month %q is not YYYY-MM", at)
		}
		p.From, p.To = m.Format(time.DateOnly), m.AddDate(0, 1, -1).Format(time.DateOnly)
	default:
		return p, fmt.Errorf("period %q must be day, week or month", kind)
	}
	return p, nil
}

// Filter narrows a report to part of the province.
type Filter struct {
	Province string `json:"province,omitempty"`
	Commune  string `json:"commune,omitempty"`
	Site     string `json:"site,omitempty"`
	Counter  string `json:"counter,omitempty"`
	Service  string `json:"service,omitempty"`
	Metric   string `json:"metric,omitempty"`
}

// Query is a report request: totals over every agent for a period, grouped by keys.
type Query struct {
	Period Period
	By     []string // province, commune, site, device, counter, service, day, metric, dims (all of them, canonical), or dim.KEY
	Filter Filter
}

// Row is one group's total.
type Row struct {
	Keys  []string `json:"keys"`
	Value int64    `json:"value"`
}

// Report is the answer to a Query.
type Report struct {
	Period Period   `json:"period"`
	By     []string `json:"by"`
	Filter Filter   `json:"filter"`
	Rows   []Row    `json:"rows"`
}

func groupExpr(key string) (string, error) {
	switch key {
	case "province":
		return "coalesce(s.province, '')", nil
	case "commune":
		return communeExpr(), nil
	case "site":
		return siteExpr(), nil
	case "device":
		return "c.device", nil
	case "day":
		return "c.day", nil
	case "metric":
		return "c.metric", nil
	case "dims":
		return "c.dims", nil
	case "counter", "service":
		return dimExpr(key), nil
	}
	if k, ok := strings.CutPrefix(key, "dim."); ok && wire.ValidName(k) {
		return dimExpr(k), nil
	}
	return "", fmt.Errorf("cannot group by %q (use province, commune, site, device, counter, service, day, metric, dims or dim.KEY)", key)
}

// dimExpr reads one dimension; k is a ValidName, so it cannot break out of the quotes.
func dimExpr(k string) string {
	return `coalesce(json_extract(c.dims, '$."` + k + `"'), '')`
}

// communeExpr and siteExpr place a row in the administration. At a national hub the
// "device" is a provincial hub (its site is the province) and each of its rows names the
// site and commune it totals in the reserved dims; at a provincial hub the dims have
// neither and the enrolled site's record answers.
func communeExpr() string {
	return "coalesce(nullif(" + dimExpr(DimCommune) + ", ''), s.commune, '')"
}

func siteExpr() string {
	return "coalesce(nullif(" + dimExpr(DimSite) + ", ''), d.site)"
}

func filterSQL(f Filter) (string, []any) {
	var where []string
	var args []any
	add := func(expr, v string) {
		if v != "" {
			where = append(where, expr+" = ?")
			args = append(args, v)
		}
	}
	add("s.province", f.Province)
	add(communeExpr(), f.Commune)
	add(siteExpr(), f.Site)
	add(dimExpr("counter"), f.Counter)
	add(dimExpr("service"), f.Service)
	add("c.metric", f.Metric)
	if len(where) == 0 {
		return "", nil
	}
	return " AND " + strings.Join(where, " AND "), args
}

// Totals sums every agent's counters over the query's period, grouped as asked: from
// the summaries when they can answer (summary.go), else from the raw rows.
func (h *Store) Totals(ctx context.Context, q Query) (Report, error) { return h.totals(ctx, q, false) }

// RawTotals is Totals from the raw rows whatever the query (the summaries' tests
// compare the two; the service table falls back to it).
func (h *Store) RawTotals(ctx context.Context, q Query) (Report, error) {
	return h.totals(ctx, q, true)
}

// totals is Totals; raw reads the raw rows whatever the query (the summaries' tests
// compare the two).
func (h *Store) totals(ctx context.Context, q Query, raw bool) (Report, error) {
	if len(q.By) == 0 {
		q.By = []string{"metric"}
	}
	if len(q.By) > 6 {
		return Report{}, fmt.Errorf("group by at most 6 keys")
	}
	exprs := make([]string, len(q.By))
	for i, k := range q.By {
		e, err := groupExpr(k)
		if err != nil {
			return Report{}, err
		}
		exprs[i] = e
	}
	query, args, ok := summaryQuery(q, slices.Clone(exprs))
	if !ok || raw {
		// By counter, service, device or dims: the raw rows.
		where, fargs := filterSQL(q.Filter)
		keys := strings.Join(exprs, ", ")
		query = `SELECT ` + keys + `, sum(c.value) FROM device_counters c
		JOIN devices d ON d.device = c.device
		LEFT JOIN sites s ON s.site = d.site
		WHERE c.day >= ? AND c.day <= ?` + where + `
		GROUP BY ` + keys + ` ORDER BY ` + keys
		args = append([]any{q.Period.From, q.Period.To}, fargs...)
	}
	rows, err := h.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return Report{}, fmt.Errorf("report query: %w", err)
	}
	defer rows.Close()
	rep := Report{Period: q.Period, By: q.By, Filter: q.Filter, Rows: []Row{}}
	for rows.Next() {
		r := Row{Keys: make([]string, len(q.By))}
		dest := make([]any, 0, len(q.By)+1)
		for i := range r.Keys {
			dest = append(dest, &r.Keys[i])
		}
		dest = append(dest, &r.Value)
		if err := rows.Scan(dest...); err != nil {
			return Report{}, fmt.Errorf("report row: %w", err)
		}
		rep.Rows = append(rep.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return Report{}, fmt.Errorf("report rows: %w", err)
	}
	return rep, nil
}
