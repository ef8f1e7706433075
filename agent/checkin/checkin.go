// Package checkin turns QR scans into check-ins: a patient at a clinic reception or a
// citizen at a one-stop counter shows the ID card's QR or a VNeID code, the agent
// appends one event with the check-in's kind and outcome, and publishes the scan on
// the bus topic "scan" so the clinic's software, the chip-card flow and the gate flow
// get it at once (the ID and name only in the message's Personal part).
//
// It must never log or store an ID number or name: the record keeps the ID's keyed
// hash only.
package checkin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/config/vocab"
	"motcua-agent/drivers/qrpayload"
	"motcua-agent/drivers/qrtext"
	"motcua-agent/drivers/scanner"
	"motcua-agent/internal/metrics"
)

// Topic is the bus topic every scan is published on.
const Topic = "scan"

// Metric names.
const (
	MetricCheckins = vocab.Checkins       // dims {kind, outcome}
	MetricPeople   = vocab.CheckinsPeople // unique ID hashes per day, dims {kind}
	MetricScans    = vocab.Scans          // every scan by dims {purpose, kind, outcome}
)

// Outcomes of a scan.
const (
	OutcomeOK           = "ok"
	OutcomeInvalid      = "invalid"      // shaped like a card QR, fields wrong
	OutcomeUnrecognised = "unrecognised" // readable text of no known kind
	OutcomeUnreadable   = "unreadable"   // refused bytes (code page, NUL, too long, cut)
)

// Flow handles scans.
type Flow struct {
	Store      *store.Store
	IDs        *store.IDHasher
	Bus        *bus.Bus
	Classifier *qrpayload.Classifier
	Site       string
	Log        *slog.Logger
	// Receipt, when set, gives the counts of a dossier receipt scanned at a counter
	// (the dossier flow's ReceiptCounts); they ride in the scan's own event.
	Receipt func(code, service string) (svc string, counts []store.Count, err error)
	latency *metrics.Histogram
}

// New builds the flow; reg may be nil.
func New(st *store.Store, ids *store.IDHasher, b *bus.Bus, cl *qrpayload.Classifier, site string, log *slog.Logger, reg *metrics.Registry) *Flow {
	if log == nil {
		log = slog.Default()
	}
	if reg == nil {
		reg = metrics.New()
	}
	return &Flow{Store: st, IDs: ids, Bus: b, Classifier: cl, Site: site, Log: log,
		latency: reg.Histogram("motcua_scan_to_event_seconds", "From a scan's last byte to its event committed.",
			[]float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5})}
}

// Result is what one scan became.
type Result struct {
	Event   store.Event
	Kind    qrpayload.Kind
	Outcome string
	Payload qrpayload.Payload
}

// reason names a refused scan's error for the dims and attrs (no payload in it).
func reason(err error) string {
	switch {
	case errors.Is(err, qrtext.ErrWrongCodePage):
		return "wrong-code-page"
	case errors.Is(err, qrtext.ErrDoubleEncoded):
		return "double-encoded"
	case errors.Is(err, qrtext.ErrControlBytes):
		return "control-bytes"
	case errors.Is(err, qrtext.ErrTooLong), errors.Is(err, scanner.ErrOverlong):
		return "too-long"
	case errors.Is(err, scanner.ErrIncomplete):
		return "incomplete"
	}
	return "unreadable"
}

// counts says which check-in this is. Gate and dossier scanners are counted by their
// own flows; a dossier receipt is never a check-in.
func counts(purpose string, kind qrpayload.Kind, outcome, idHash string) []store.Count {
	cs := []store.Count{{Metric: MetricScans, Dims: map[string]string{"purpose": purpose, "kind": string(kind), "outcome": outcome}, Value: 1}}
	if purpose != config.ScanForCheckin && purpose != config.ScanForIdentity {
		return cs
	}
	if kind == qrpayload.KindDossier {
		return cs
	}
	cs = append(cs, store.Count{Metric: MetricCheckins, Dims: map[string]string{"kind": string(kind), "outcome": outcome}, Value: 1})
	if idHash != "" {
		cs = append(cs, store.Count{Metric: MetricPeople, Dims: map[string]string{"kind": string(kind)}, Op: store.OpUnique, Key: idHash})
	}
	return cs
}

// Handle classifies a scan, appends its event (durable when it returns) and publishes
// it on the bus. Gate scans are published at once: the gate records its decision.
func (f *Flow) Handle(ctx context.Context, s scanner.Scan) (Result, error) {
	var r Result
	attrs := ScanAttrs{Scanner: s.Scanner, Purpose: s.Purpose, Bytes: s.Bytes, ByIdle: s.ByIdle}
	idHash := ""
	kindName := "checkin.qr"
	switch {
	case s.Err != nil:
		r.Kind, r.Outcome = "unreadable", OutcomeUnreadable
		attrs.Reason = reason(s.Err)
		kindName = "scan.rejected"
	default:
		r.Payload = f.Classifier.ClassifyText(s.Text)
		r.Kind = r.Payload.Kind
		switch r.Kind {
		case qrpayload.KindCCCD2021, qrpayload.KindCCCD2024:
			r.Outcome = OutcomeOK
			idHash = f.IDs.Hash(r.Payload.Card.ID)
			attrs.IDHash = idHash
		case qrpayload.KindVNeID:
			r.Outcome = OutcomeOK
			idHash = f.IDs.Hash("vneid:" + s.Text)
			attrs.CodeHash = idHash
			kindName = "checkin.vneid"
		case qrpayload.KindCCCDInvalid:
			r.Outcome = OutcomeInvalid
			attrs.Problem = "card QR fields invalid"
		case qrpayload.KindDossier:
			r.Outcome = OutcomeOK
			attrs.Dossier = r.Payload.Receipt.Code
			kindName = "scan.dossier"
		default:
			r.Outcome = OutcomeUnrecognised
			kindName = "scan.unknown"
		}
	}
	attrs.QRKind = string(r.Kind)
	attrs.Outcome = r.Outcome
	if s.Purpose == config.ScanForGate {
		// The lane's decision is the durable record of a gate scan, with its own counts;
		// a durable write here too would put every lane behind a second fsync.
		r.Event = store.Event{Kind: "scan.gate", Counter: s.Tag, Attrs: store.AttrsOf(attrs)}
		f.publish(s, r, attrs)
		return r, nil
	}
	ev := store.Event{Kind: kindName, Site: f.Site, Counter: s.Tag,
		Counts: counts(s.Purpose, r.Kind, r.Outcome, idHash)}
	if r.Payload.Receipt != nil {
		ev.Service = r.Payload.Receipt.Service
		if f.Receipt != nil {
			svc, cs, err := f.Receipt(r.Payload.Receipt.Code, r.Payload.Receipt.Service)
			if err != nil {
				attrs.DossierProblem = err.Error()
			} else {
				ev.Service = svc
				ev.Counts = append(ev.Counts, cs...)
			}
		}
	}
	ev.Attrs = store.AttrsOf(attrs)
	var err error
	r.Event, err = f.Store.Append(ctx, ev)
	if err != nil {
		return r, fmt.Errorf("checkin: record scan: %w", err)
	}
	if !s.Received.IsZero() {
		f.latency.Observe(time.Since(s.Received).Seconds())
	}
	f.publish(s, r, attrs)
	args := []any{"scanner", s.Scanner, "counter", s.Tag, "kind", r.Kind, "outcome", r.Outcome, "seq", r.Event.Seq}
	if attrs.Reason != "" {
		args = append(args, "reason", attrs.Reason)
	}
	f.Log.Info("scan", args...)
	return r, nil
}

// Scan is the public part of a message on Topic: what was scanned where, and how it
// was classified; never the payload itself.
type Scan struct {
	Scanner string `json:"scanner"`
	Counter string `json:"counter"` // the scanner's tag: counter, lane or station
	Purpose string `json:"purpose"`
	Kind    string `json:"kind"`
	Outcome string `json:"outcome"`
	Seq     int64  `json:"seq"`
	Reason  string `json:"reason,omitempty"`
	Service string `json:"service,omitempty"` // a receipt's service code
}

// ScanPersonal is the personal part of a scan message: the raw payload and, for an ID
// card QR, its fields.
type ScanPersonal struct {
	Payload   string `json:"payload"`
	ID        string `json:"id,omitempty"`
	Name      string `json:"name,omitempty"`
	OldID     string `json:"old_id,omitempty"`
	Birth     string `json:"birth,omitempty"` // dd/mm/yyyy
	Sex       string `json:"sex,omitempty"`
	Residence string `json:"residence,omitempty"`
	Issued    string `json:"issued,omitempty"`
}

func (f *Flow) publish(s scanner.Scan, r Result, a ScanAttrs) {
	pub := Scan{Scanner: s.Scanner, Counter: s.Tag, Purpose: s.Purpose, Kind: string(r.Kind), Outcome: r.Outcome, Seq: r.Event.Seq,
		Reason: a.Reason}
	var personal *ScanPersonal
	var link *bus.Linkable
	switch {
	case r.Payload.Card != nil:
		q := r.Payload.Card
		personal = &ScanPersonal{ID: q.ID, Name: q.Name, OldID: q.OldID, Birth: q.Birth.String(),
			Sex: q.Sex, Residence: q.Residence, Issued: q.Issued.String(), Payload: r.Payload.Text}
		if a.IDHash != "" {
			link = &bus.Linkable{IDHash: a.IDHash}
		}
	case r.Payload.Receipt != nil:
		pub.Service = r.Payload.Receipt.Service
		link = &bus.Linkable{Dossier: r.Payload.Receipt.Code}
	case r.Payload.Text != "":
		personal = &ScanPersonal{Payload: r.Payload.Text}
	}
	if f.Bus != nil {
		m := bus.Message{Topic: Topic, Public: pub, Linkable: link}
		if personal != nil {
			m.Personal = *personal
		}
		f.Bus.Publish(m)
	}
}

// Run handles scans from in until ctx ends or in closes.
func (f *Flow) Run(ctx context.Context, in <-chan scanner.Scan) {
	for {
		select {
		case <-ctx.Done():
			return
		case s, ok := <-in:
			if !ok {
				return
			}
			if _, err := f.Handle(ctx, s); err != nil && ctx.Err() == nil {
				f.Log.Error("scan not recorded", "scanner", s.Scanner, "err", err)
			}
		}
	}
}
