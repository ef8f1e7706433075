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

// VerifiedAttrs are the attributes of EventVerified in the record: the facts of a
// finished read. Their JSON names are the keys the flow has always written.
type VerifiedAttrs struct {
	Outcome   string        `json:"outcome"`
	Reason    string        `json:"reason"`
	Method    string        `json:"method"`
	KeySource string        `json:"key_source"`
	ElapsedMS int64         `json:"elapsed_ms"`
	APDUs     int           `json:"apdus"`
	KeyLabel  string        `json:"key_label,omitempty"`
	Checks    *StatusChecks `json:"checks,omitempty"`
	AgeBand   string        `json:"age_band,omitempty"`
	// IDHash is the holder's ID number as a keyed hash (a card that yielded one).
	IDHash string `json:"id_hash,omitempty"`
	// Kept is the holder's data the settings keep in the record for their stated
	// purpose (identity.card.keep), nil when they keep none: the one personal part,
	// in its own field.
	*Kept
}

// Kept is the personal data identity.card.keep asks the record to hold.
type Kept struct {
	Name            string `json:"name,omitempty"`
	Residence       string `json:"residence,omitempty"`
	PhotoJPEGBase64 string `json:"photo_jpeg_base64,omitempty"`
	Purpose         string `json:"purpose"`
}

// attrs are the facts of a finished read the record keeps (the event's attributes).
func (s Status) attrs() VerifiedAttrs {
	return VerifiedAttrs{Outcome: s.Outcome, Reason: s.Reason, Method: s.Method, KeySource: s.KeySource,
		ElapsedMS: s.ElapsedMS, APDUs: s.APDUs, KeyLabel: s.KeyLabel, Checks: s.Checks, AgeBand: s.AgeBand}
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
