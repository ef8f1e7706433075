package store

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Attrs are an event's own facts: one JSON object whose shape belongs to the event's
// kind. The package that owns a kind defines one struct for it, writes it with AttrsOf
// and reads it back with Decode; the store keeps the bytes as they came and knows no
// kind. Because the column holds JSON, a struct whose field names are the keys an
// older agent wrote reads that older agent's rows too.
type Attrs struct {
	raw json.RawMessage
	err error // AttrsOf could not encode its value: Append refuses the event
}

// AttrsOf encodes a kind's attribute struct. A value that cannot be encoded as a JSON
// object is kept as an error that Append returns, so nothing half-written is stored.
func AttrsOf(v any) Attrs {
	b, err := json.Marshal(v)
	if err != nil {
		return Attrs{err: err}
	}
	return attrsFrom(b)
}

// attrsFrom takes encoded attributes as stored; "null" and "{}" are none.
func attrsFrom(b []byte) Attrs {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null" || string(b) == "{}":
		return Attrs{}
	case b[0] != '{' || !json.Valid(b):
		return Attrs{err: fmt.Errorf("not a JSON object: %.40q", b)}
	}
	return Attrs{raw: b}
}

// Decode fills v (a pointer to the kind's struct) from the attributes. No attributes
// leave v as it is. Keys v does not name are ignored: an older or newer agent's extra
// facts never stop a read.
func (a Attrs) Decode(v any) error {
	if a.err != nil {
		return a.err
	}
	if len(a.raw) == 0 {
		return nil
	}
	return json.Unmarshal(a.raw, v)
}

// IsZero says the event has no attributes.
func (a Attrs) IsZero() bool { return len(a.raw) == 0 && a.err == nil }

// String is the attributes' JSON ("" for none), as the record keeps it.
func (a Attrs) String() string { return string(a.raw) }

// MarshalJSON writes the attributes as the object they are (null for none).
func (a Attrs) MarshalJSON() ([]byte, error) {
	if a.err != nil {
		return nil, a.err
	}
	if len(a.raw) == 0 {
		return []byte("null"), nil
	}
	return a.raw, nil
}

// UnmarshalJSON reads attributes written by MarshalJSON.
func (a *Attrs) UnmarshalJSON(b []byte) error {
	*a = attrsFrom(bytes.Clone(b))
	return a.err
}
