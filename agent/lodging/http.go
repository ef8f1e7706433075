package lodging

import (
	"bytes"
	"context"
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/drivers/keyboard"
	"motcua-agent/internal/xlsx"
)

//go:embed pages/ward.html
var pages embed.FS

// WardStatus is a ward's list as its page sees it.
type WardStatus struct {
	Ward    string   `json:"ward"`
	Title   string   `json:"title"`
	Address string   `json:"address"`
	Reasons []string `json:"reasons"`
	Typing  bool     `json:"typing"`
	// Countdown is the page's pause before typing, in milliseconds.
	Countdown int64    `json:"countdown_ms"`
	Entries   []Entry  `json:"entries"`
	Warning   *Warning `json:"warning,omitempty"`
	// Now is the agent's time: the page tells today's deadlines from tomorrow's by it.
	Now time.Time `json:"now"`
}

// Ward is a ward's list; people only when personal.
func (l *List) Ward(ctx context.Context, id string, personal bool) (WardStatus, error) {
	w, ok := l.cfg.Ward(id)
	if !ok {
		return WardStatus{}, fmt.Errorf("%w %q", ErrUnknownWard, id)
	}
	es, err := l.Entries(ctx, id)
	if err != nil {
		return WardStatus{}, err
	}
	if !personal {
		for i := range es {
			es[i].Person = nil
		}
	}
	ws, err := l.Warnings(ctx)
	if err != nil {
		return WardStatus{}, err
	}
	s := WardStatus{Ward: w.ID, Title: w.Title, Address: l.cfg.Address, Reasons: l.cfg.Reasons, Typing: l.cfg.Typing.Enabled,
		Countdown: l.cfg.Typing.Countdown.Milliseconds(), Entries: es, Now: l.d.Now()}
	if s.Entries == nil {
		s.Entries = []Entry{}
	}
	for i := range ws {
		if ws[i].Ward == id {
			s.Warning = &ws[i]
		}
	}
	return s, nil
}

// field is one of the form's fields of an entry, as typed and exported.
func (l *List) field(e Entry, name string) string {
	p := e.Person
	if p == nil {
		return ""
	}
	switch name {
	case "id":
		return p.Number
	case "name":
		return p.Name
	case "birth":
		return p.Birth
	case "sex":
		return p.Sex
	case "nationality":
		return textNationality
	case "reason":
		return p.Reason
	case "from":
		return p.From
	case "to":
		return p.To
	case "address":
		return l.cfg.Address
	}
	return ""
}

// Strokes are what typing types for an entry: the configured fields and keys in the
// form's order.
func (l *List) Strokes(e Entry) ([]keyboard.Stroke, int) {
	var out []keyboard.Stroke
	fields := 0
	for _, f := range l.cfg.Typing.Fields {
		if k, ok := keyboard.ParseKey(f); ok {
			out = append(out, keyboard.Press(k))
			continue
		}
		if v := l.field(e, f); v != "" {
			out = append(out, keyboard.Text(v))
			fields++
		}
	}
	return out, fields
}

// Type types an entry into the field that has the desktop's focus.
func (l *List) Type(ctx context.Context, id string) (int, error) {
	e, err := l.entry(ctx, id)
	if err != nil {
		return 0, err
	}
	strokes, fields := l.Strokes(e)
	if fields == 0 {
		return 0, fmt.Errorf("%w: the entry does not open with the key", ErrBadEntry)
	}
	l.typing.Lock()
	defer l.typing.Unlock()
	ty, err := l.d.Keyboard(keyboard.Options{Display: l.cfg.Typing.Display})
	if err != nil {
		return 0, err
	}
	defer ty.Close()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := ty.Type(tctx, strokes); err != nil {
		return 0, err
	}
	_, err = l.d.Store.Append(ctx, store.Event{Kind: KindTyped, Site: l.d.Config.Site.ID, Counter: e.Ward, Time: l.d.Now(),
		Attrs: store.AttrsOf(TypedAttrs{Entry: id, Fields: fields, Chars: keyboard.Count(strokes)})})
	return fields, err
}

// Rows are a ward's list ("" every ward) as table rows, the header first, in the
// order of the VNeID form's fields; n is the number of people.
func (l *List) Rows(ctx context.Context, ward string) (rows [][]string, n int, err error) {
	es, err := l.Entries(ctx, ward)
	if err != nil {
		return nil, 0, err
	}
	rows = append(rows, exportHeader)
	for _, e := range es {
		if e.Person == nil {
			continue
		}
		n++
		notified := ""
		if !e.Notified.IsZero() {
			notified = e.Notified.In(l.loc).Format("15:04 02/01/2006")
		}
		rows = append(rows, []string{fmt.Sprint(n), l.field(e, "id"), l.field(e, "name"), l.field(e, "birth"), l.field(e, "sex"),
			l.field(e, "nationality"), l.field(e, "reason"), l.field(e, "from"), l.field(e, "to"), l.field(e, "address"),
			e.Deadline.In(l.loc).Format("15:04 02/01/2006"), notified})
	}
	return rows, n, nil
}

// CSV is the rows as a spreadsheet text, UTF-8 with a byte-order mark so that Excel
// reads the Vietnamese.
func CSV(rows [][]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("\ufeff")
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	w.WriteAll(rows)
	return b.Bytes(), w.Error()
}

// Register adds the ward page, the list's API and the dashboard block.
func (l *List) Register(w *web.Server) {
	w.HandleFunc("GET /lodging/ward", web.ServeFile(pages, "pages/ward.html"))
	w.HandleFunc("GET /api/v1/lodging/wards/{ward}", func(rw http.ResponseWriter, r *http.Request) {
		s, err := l.Ward(r.Context(), r.PathValue("ward"), w.MayReceivePersonal(web.RoleOf(r)))
		if err != nil {
			l.fail(rw, err)
			return
		}
		web.WriteJSON(rw, http.StatusOK, s)
	}, web.RoleCounter)
	personal := func(rw http.ResponseWriter, r *http.Request) bool {
		if !w.MayReceivePersonal(web.RoleOf(r)) {
			web.WriteError(rw, http.StatusForbidden, "this role may not receive personal data", "Vai trò này không được xem thông tin cá nhân.")
			return false
		}
		return true
	}
	w.HandleFunc("POST /api/v1/lodging/entries", func(rw http.ResponseWriter, r *http.Request) {
		var body struct{ Ward, Number, Name, Birth, Sex, Reason, To string }
		if !personal(rw, r) || !web.ReadJSON(rw, r, &body) {
			return
		}
		e, err := l.Add(r.Context(), body.Ward, SourceTyped, Person{Number: body.Number, Name: body.Name, Birth: strings.TrimSpace(body.Birth),
			Sex: strings.TrimSpace(body.Sex), Reason: body.Reason, To: strings.TrimSpace(body.To)})
		if err != nil {
			l.fail(rw, err)
			return
		}
		web.WriteJSON(rw, http.StatusCreated, e)
	}, web.RoleCounter)
	w.HandleFunc("POST /api/v1/lodging/entries/{id}", func(rw http.ResponseWriter, r *http.Request) {
		var body struct{ Reason, To string }
		if !personal(rw, r) || !web.ReadJSON(rw, r, &body) {
			return
		}
		e, err := l.Update(r.Context(), r.PathValue("id"), body.Reason, strings.TrimSpace(body.To))
		if err != nil {
			l.fail(rw, err)
			return
		}
		web.WriteJSON(rw, http.StatusOK, e)
	}, web.RoleCounter)
	w.HandleFunc("POST /api/v1/lodging/entries/{id}/notified", func(rw http.ResponseWriter, r *http.Request) {
		e, err := l.Notified(r.Context(), r.PathValue("id"))
		if err != nil {
			l.fail(rw, err)
			return
		}
		e.Person = nil
		web.WriteJSON(rw, http.StatusOK, e)
	}, web.RoleCounter)
	w.HandleFunc("POST /api/v1/lodging/entries/{id}/type", func(rw http.ResponseWriter, r *http.Request) {
		if !personal(rw, r) {
			return
		}
		if !l.cfg.Typing.Enabled {
			web.WriteError(rw, http.StatusConflict, "typing is off (lodging.typing.enabled)", textNoTyping)
			return
		}
		n, err := l.Type(r.Context(), r.PathValue("id"))
		switch {
		case errors.Is(err, ErrUnknownEntry) || errors.Is(err, ErrBadEntry):
			l.fail(rw, err)
		case errors.Is(err, keyboard.ErrNoDisplay):
			web.WriteError(rw, http.StatusServiceUnavailable, err.Error(), textNoDesktop)
		case err != nil:
			web.WriteFailure(rw, err, http.StatusInternalServerError, textTypeFailed)
		default:
			web.WriteJSON(rw, http.StatusOK, map[string]any{"status": "typed", "fields": n})
		}
	}, web.RoleCounter)
	export := func(format string) func(http.ResponseWriter, *http.Request) {
		return func(rw http.ResponseWriter, r *http.Request) {
			ward := r.PathValue("ward")
			if _, ok := l.cfg.Ward(ward); !ok {
				l.fail(rw, fmt.Errorf("%w %q", ErrUnknownWard, ward))
				return
			}
			if !personal(rw, r) {
				return
			}
			rows, n, err := l.Rows(r.Context(), ward)
			var b []byte
			if err == nil && format == "csv" {
				b, err = CSV(rows)
			} else if err == nil {
				b, err = workbook(rows)
			}
			if err != nil {
				web.WriteFailure(rw, err, http.StatusInternalServerError, "Không xuất được danh sách.")
				return
			}
			day := l.d.Now().In(l.loc).Format("2006-01-02")
			ctype := "text/csv; charset=utf-8"
			if format == "xlsx" {
				ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
			}
			rw.Header().Set("Content-Type", ctype)
			rw.Header().Set("Content-Disposition", `attachment; filename="luu-tru-`+ward+"-"+day+"."+format+`"`)
			rw.Header().Set("Cache-Control", "no-store")
			rw.Write(b)
			l.d.Store.Append(r.Context(), store.Event{Kind: KindExported, Site: l.d.Config.Site.ID, Counter: ward, Time: l.d.Now(),
				Attrs: store.AttrsOf(ExportedAttrs{Ward: ward, Rows: n, Format: format})})
		}
	}
	w.HandleFunc("GET /api/v1/lodging/wards/{ward}/export.csv", export("csv"), web.RoleCounter)
	w.HandleFunc("GET /api/v1/lodging/wards/{ward}/export.xlsx", export("xlsx"), web.RoleCounter)
	w.AddStatus("lodging", l.dashboardBlock)
	for _, wd := range l.d.Config.Lodging.Wards {
		w.AddPage(web.Page{Path: "/lodging/ward?ward=" + url.QueryEscape(wd.ID), Title: textPageTitle + " (" + wd.Title + ")", Role: web.RoleCounter})
	}
}

func (l *List) fail(rw http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrUnknownWard):
		web.WriteError(rw, http.StatusNotFound, err.Error(), textUnknownWard)
	case errors.Is(err, ErrUnknownEntry):
		web.WriteError(rw, http.StatusNotFound, err.Error(), textUnknownEntry)
	case errors.Is(err, ErrBadEntry):
		web.WriteError(rw, http.StatusBadRequest, err.Error(), textBadEntry)
	default:
		web.WriteFailure(rw, err, http.StatusInternalServerError, "Không đọc hoặc ghi được danh sách lưu trú.")
	}
}

// dashboardBlock is the list's block on the dashboard: the warnings, and today's counts.
func (l *List) dashboardBlock(ctx context.Context) web.Block {
	ws, err := l.Warnings(ctx)
	if err != nil {
		return web.FaultBlock(textDashTitle, "Không đọc được danh sách lưu trú.")
	}
	b := web.Block{Title: textDashTitle}
	for _, w := range ws {
		title := w.Ward
		if ward, ok := l.cfg.Ward(w.Ward); ok {
			title = ward.Title
		}
		b.Add(title, w.Message)
		b.Warn()
	}
	if len(ws) == 0 {
		b.Add("Cảnh báo", textNoWarning)
	}
	es, _ := l.Entries(ctx, "")
	notified := 0
	for _, e := range es {
		if !e.Notified.IsZero() {
			notified++
		}
	}
	b.AddNumber("Đang trong danh sách", int64(len(es)))
	b.AddNumber("Đã thông báo (chờ xóa)", int64(notified))
	return b
}

// workbook is the list as a one-sheet workbook (the header bold): every cell text, so
// ID numbers keep their leading zeros.
func workbook(rows [][]string) ([]byte, error) {
	sh := xlsx.Sheet{Name: textPageTitle}
	for i, row := range rows {
		st := xlsx.Normal
		if i == 0 {
			st = xlsx.Bold
		}
		cells := make([]xlsx.Cell, len(row))
		for j, v := range row {
			cells[j] = xlsx.Text(v, st)
		}
		sh.Rows = append(sh.Rows, cells)
	}
	var b bytes.Buffer
	err := xlsx.Write(&b, sh)
	return b.Bytes(), err
}
