package clinic

import (
	"fmt"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/checkin"
	"motcua-agent/agent/identity"
	"motcua-agent/config"
	"motcua-agent/drivers/bhyt"
	"motcua-agent/drivers/cccd"
	"motcua-agent/drivers/qrpayload"
)

// Topics the flow follows.
const (
	TopicScan     = "scan"     // the check-in flow: Public {counter, purpose, kind}, Personal {payload}
	TopicIdentity = "identity" // the chip-card flow: Public {counter, outcome}, Personal {id, name, birth}
)

// View is a look-up as the page and the stream see it. Patient is personal and goes
// only to roles allowed personal data.
type View struct {
	Lookup    string    `json:"lookup"`
	Station   string    `json:"station"`
	Source    string    `json:"source"`
	State     string    `json:"state"`
	Outcome   string    `json:"outcome,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Code      string    `json:"code,omitempty"` // the gateway's maKetQua, for the clinic's software
	Tone      string    `json:"tone"`           // ok, warn, bad, wait: the page's colour
	Headline  string    `json:"headline"`       // Vietnamese
	Advice    string    `json:"advice,omitempty"`
	Requested time.Time `json:"requested"`
	Answered  time.Time `json:"answered,omitzero"`
	Attempts  int       `json:"attempts"`
	Repeat    bool      `json:"repeat,omitempty"` // the same person again: the earlier look-up
	Seq       int64     `json:"seq,omitempty"`
	Patient   *Patient  `json:"patient,omitempty"`
}

// Patient is the personal part of a look-up: who was looked up, and the card found.
type Patient struct {
	Name   string `json:"name"`
	Number string `json:"number"` // as looked up: ID number or card number
	Birth  string `json:"birth"`
	Age    string `json:"age,omitempty"` // Vietnamese, e.g. "41 tuổi"
	Card   *Card  `json:"card,omitempty"`
}

// Card is the insurance card to use, as the nurse copies it into the clinic's software.
type Card struct {
	Number       string `json:"number"`
	ValidFrom    string `json:"valid_from,omitempty"` // dd/mm/yyyy
	ValidTo      string `json:"valid_to,omitempty"`
	Facility     string `json:"facility,omitempty"` // registered facility code
	FacilityName string `json:"facility_name,omitempty"`
	OldNumber    string `json:"old_number,omitempty"` // when a new card replaced it
	FiveYears    string `json:"five_years,omitempty"`
}

// viewOf is a look-up's current view, with its patient.
func (f *Flow) viewOf(l *lookup) View {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.view(l, true)
}

// view builds a look-up's view (f.mu held).
func (f *Flow) view(l *lookup, personal bool) View {
	v := View{Lookup: l.id, Station: l.req.Station, Source: l.req.Source, State: l.state, Outcome: l.outcome,
		Reason: l.reason, Code: l.code, Requested: l.requested, Answered: l.answered, Attempts: l.attempts, Seq: l.seq}
	v.Tone, v.Headline, v.Advice = texts(l)
	if !personal || l.req.Number == "" {
		return v
	}
	p := &Patient{Name: l.req.Name, Number: l.req.Number, Birth: l.req.Birth, Age: ageText(l.req.Birth, f.d.Now().In(f.loc))}
	if l.answer != nil {
		if c := l.answer.Current(); c != nil {
			p.Card = &Card{Number: c.Number, ValidFrom: bhyt.DMY(c.ValidFrom), ValidTo: bhyt.DMY(c.ValidTo),
				Facility: c.Facility, FacilityName: c.FacilityName, FiveYears: c.FiveYears}
			if l.answer.NewCard != nil && l.answer.Card != nil {
				p.Card.OldNumber = l.answer.Card.Number
			}
		}
	}
	v.Patient = p
	return v
}

// publish sends a view on the bus: the view without its patient as the public part
// (a View), the patient as the personal part (a Patient), absent when there is none.
func (f *Flow) publish(v View) {
	m := bus.Message{Topic: Topic}
	if v.Patient != nil {
		m.Personal = *v.Patient
	}
	v.Patient = nil
	m.Public = v
	f.d.Bus.Publish(m)
}

// requestOf reads a look-up request from a scan or a verified chip card published at a
// reception station (ok false for anything else).
func (f *Flow) requestOf(m bus.Message) (Request, bool) {
	switch pub := m.Public.(type) {
	case checkin.Scan:
		if _, ok := f.cfg.Station(pub.Counter); !ok {
			return Request{}, false
		}
		if pub.Purpose != config.ScanForCheckin && pub.Purpose != config.ScanForIdentity {
			return Request{}, false
		}
		if pub.Kind != cccd.FormCCCD2021 && pub.Kind != cccd.FormCCCD2024 {
			return Request{}, false
		}
		p, _ := m.Personal.(checkin.ScanPersonal)
		q, err := cccd.ParseQR(p.Payload)
		if err != nil {
			return Request{}, false
		}
		return Request{Station: pub.Counter, Source: SourceQR, Number: q.ID, Name: q.Name, Birth: birthOf(q.Birth)}, true
	case identity.Status:
		if _, ok := f.cfg.Station(pub.Counter); !ok || pub.Outcome != "ok" {
			return Request{}, false
		}
		p, _ := m.Personal.(identity.Person)
		if p.ID == "" || p.Name == "" || p.Birth == "" {
			return Request{}, false
		}
		return Request{Station: pub.Counter, Source: SourceChip, Number: p.ID, Name: p.Name, Birth: p.Birth}, true
	}
	return Request{}, false
}

// noticeOf reads a scan at a reception station that cannot be looked up: a VNeID code
// that carries no ID number, or a card QR that did not read right.
func (f *Flow) noticeOf(m bus.Message) (station, reason string, ok bool) {
	pub, isScan := m.Public.(checkin.Scan)
	if _, known := f.cfg.Station(pub.Counter); !isScan || !known ||
		(pub.Purpose != config.ScanForCheckin && pub.Purpose != config.ScanForIdentity) {
		return "", "", false
	}
	switch qrpayload.Kind(pub.Kind) {
	case qrpayload.KindVNeID:
		return pub.Counter, ReasonVNeIDNoData, true
	case qrpayload.KindCCCDInvalid:
		return pub.Counter, ReasonUnreadableQR, true
	}
	return "", "", false
}

// ageText is the patient's age on the page: years, with months for young children.
func ageText(birth string, now time.Time) string {
	w, err := bhyt.WireBirth(birth)
	if err != nil {
		return ""
	}
	if len(w) == 4 {
		var y int
		fmt.Sscan(w, &y)
		return fmt.Sprintf("khoảng %d tuổi", now.Year()-y)
	}
	d, err := cccd.ParseSlashDate(w)
	if err != nil {
		return ""
	}
	months := (now.Year()-d.Year)*12 + int(now.Month()) - int(d.Month)
	if now.Day() < d.Day {
		months--
	}
	switch {
	case months < 0:
		return ""
	case months < 12:
		return fmt.Sprintf("%d tháng tuổi", months)
	case months < 72:
		return fmt.Sprintf("%d tuổi (%d tháng)", months/12, months)
	}
	return fmt.Sprintf("%d tuổi", months/12)
}

// texts gives a look-up's tone, headline and advice (f.mu held).
func texts(l *lookup) (tone, headline, advice string) {
	switch l.state {
	case StateChecking:
		return "wait", textChecking, ""
	case StateQueued:
		return "wait", textQueued, textQueuedAdvice
	}
	t, ok := reasonTexts[l.reason]
	if !ok {
		t = reasonTexts[string(bhyt.ReasonUnknownCode)]
	}
	return t.tone, t.headline, t.advice
}
