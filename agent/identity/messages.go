package identity

import "motcua-agent/drivers/emrtd"

// Status is the public part of a message on TopicIdentity: where a card read stands at
// a counter and, when done, how it verified. No personal data and nothing linkable: the
// holder's keyed ID hash travels in the message's bus.Linkable part.
type Status struct {
	Counter   string        `json:"counter"`
	State     string        `json:"state"` // waiting-for-keys, reading, done
	Message   string        `json:"message,omitempty"`
	Outcome   string        `json:"outcome,omitempty"`
	Reason    string        `json:"reason,omitempty"`
	Method    string        `json:"method,omitempty"`
	KeySource string        `json:"key_source,omitempty"`
	ElapsedMS int64         `json:"elapsed_ms,omitempty"`
	APDUs     int           `json:"apdus,omitempty"`
	KeyLabel  string        `json:"key_label,omitempty"`
	Checks    *StatusChecks `json:"checks,omitempty"`
	AgeBand   string        `json:"age_band,omitempty"`
}

// StatusChecks are the verification's individual results.
type StatusChecks struct {
	DataGroups   map[string]string `json:"data_groups"` // data group → hash check
	SODSignature emrtd.CheckStatus `json:"sod_signature"`
	Chain        emrtd.ChainStatus `json:"chain"`
	ActiveAuth   emrtd.CheckStatus `json:"active_auth"`
	ChipAuth     emrtd.CheckStatus `json:"chip_auth"`
	DG13         emrtd.CheckStatus `json:"dg13"`
	QRAgreement  emrtd.CheckStatus `json:"qr_agreement"`
}

// attrs are the facts of a finished read the record keeps (the event's attributes).
func (s Status) attrs() map[string]any {
	a := map[string]any{"outcome": s.Outcome, "reason": s.Reason, "method": s.Method, "key_source": s.KeySource,
		"elapsed_ms": s.ElapsedMS, "apdus": s.APDUs}
	if s.KeyLabel != "" {
		a["key_label"] = s.KeyLabel
	}
	if c := s.Checks; c != nil {
		a["checks"] = map[string]any{"data_groups": c.DataGroups, "sod_signature": c.SODSignature, "chain": c.Chain,
			"active_auth": c.ActiveAuth, "chip_auth": c.ChipAuth, "dg13": c.DG13, "qr_agreement": c.QRAgreement}
	}
	if s.AgeBand != "" {
		a["age_band"] = s.AgeBand
	}
	return a
}

// Person is the personal part of a finished read: the holder's data from the chip.
type Person struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Birth       string `json:"birth"`
	Sex         string `json:"sex"`
	Nationality string `json:"nationality"`
	Ethnicity   string `json:"ethnicity"`
	Religion    string `json:"religion"`
	Origin      string `json:"origin"`
	Residence   string `json:"residence"`
	Issued      string `json:"issued"`
	Expiry      string `json:"expiry"`
	Father      string `json:"father"`
	Mother      string `json:"mother"`
	Spouse      string `json:"spouse"`
	OldID       string `json:"old_id"`
	NameMRZ     string `json:"name_mrz"`
	Photo       string `json:"photo,omitempty"` // data: URL of the JPEG
}
