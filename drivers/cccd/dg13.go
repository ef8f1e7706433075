package cccd

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"motcua-agent/drivers/emrtd"
)

// MaxDG13 caps the DG13 bytes the parser accepts; real ones are under 2 KB.
const MaxDG13 = 32 << 10

// DG13OID is the content of the object identifier in the DG13 header (1.0.10646.1.0.8,
// encoded 06 06 28 D3 16 01 00 08).
var DG13OID = []byte{0x28, 0xD3, 0x16, 0x01, 0x00, 0x08}

// DG13 is the Vietnamese data group 13, parsed by field number.
type DG13 struct {
	Version     int
	ID          string // field 1, 12 digits
	Name        string // 2
	Birth       string // 3, dd/mm/yyyy as stored
	Sex         string // 4, "Nam" or "Nữ"
	Nationality string // 5
	Ethnicity   string // 6
	Religion    string // 7
	Origin      string // 8, place of origin (quê quán)
	Residence   string // 9
	Marks       string // 10, identifying marks
	Issued      string // 11, dd/mm/yyyy
	Expiry      string // 12, dd/mm/yyyy or a text when the card does not expire
	Father      string // 13
	Mother      string // 13
	Spouse      string // 14, empty when none
	OldID       string // 15, 9-digit CMND number
	Field16     string // 16, meaning unknown
	// ParentLayout records how field 13 was laid out (ParentsFlat or ParentsNested).
	ParentLayout ParentLayout
	// Unknown keeps the raw values of field numbers this parser does not know.
	Unknown map[int][]byte
}

// ParentLayout is one of the two layouts of DG13 field 13 seen on cards.
type ParentLayout int

const (
	// ParentsFlat: 30 { 02 01 0D, 30 {father}, 30 {mother} }.
	ParentsFlat ParentLayout = iota
	// ParentsNested: 30 { 02 01 0D, 30 { 30 {father}, 30 {mother} } }.
	ParentsNested
)

// BirthDate parses field 3.
func (d DG13) BirthDate() (Date, error) { return ParseSlashDate(d.Birth) }

// IssueDate parses field 11.
func (d DG13) IssueDate() (Date, error) { return ParseSlashDate(d.Issued) }

// ExpiryDate parses field 12; ok is false when the field holds a text (no expiry).
func (d DG13) ExpiryDate() (Date, bool) {
	t, err := ParseSlashDate(d.Expiry)
	return t, err == nil
}

const maxDG13Fields = 64

// ErrEncrypted reports a DG13 whose content is a cryptogram (an OCTET STRING or an ISO
// 7816 cryptogram object where the SEQUENCE of fields belongs): the 2024 card keeps
// data encrypted under a key only the issuer's systems hold (Circular 16/2024/TT-BCA).
// Its message is the one shown for such data.
var ErrEncrypted = errors.New(emrtd.EncryptedDetail)

// ParseDG13 parses the bytes of EF.DG13 (tag 6D). Fields are found by their number,
// never by position; missing fields stay empty. Text must be valid UTF-8.
func ParseDG13(b []byte) (DG13, error) {
	if len(b) > MaxDG13 {
		return DG13{}, fmt.Errorf("parse DG13: %d bytes, more than the %d accepted", len(b), MaxDG13)
	}
	outer, _, err := emrtd.ParseTLV(b)
	if err != nil {
		return DG13{}, fmt.Errorf("parse DG13: %w", err)
	}
	if outer.Tag != 0x6D {
		return DG13{}, fmt.Errorf("parse DG13: tag %X, want 6D", outer.Tag)
	}
	seq, _, err := emrtd.ParseTLV(outer.Value)
	if err == nil && (seq.Tag == 0x04 || seq.Tag == 0x85 || seq.Tag == 0x87) {
		return DG13{}, fmt.Errorf("parse DG13: %w", ErrEncrypted)
	}
	if err != nil || seq.Tag != 0x30 {
		return DG13{}, fmt.Errorf("parse DG13: want a SEQUENCE inside 6D")
	}
	parts, err := children(seq.Value)
	if err != nil {
		return DG13{}, fmt.Errorf("parse DG13: header: %w", err)
	}
	var d DG13
	var set *emrtd.TLV
	for i := range parts {
		p := &parts[i]
		switch p.Tag {
		case 0x02:
			if v, ok := smallInt(p.Value); ok {
				d.Version = v
			}
		case 0x06:
			if !bytes.Equal(p.Value, DG13OID) {
				return DG13{}, fmt.Errorf("parse DG13: unexpected object identifier")
			}
		case 0x31:
			set = p
		}
	}
	if set == nil {
		return DG13{}, fmt.Errorf("parse DG13: no SET of fields")
	}
	fields, err := children(set.Value)
	if err != nil {
		return DG13{}, fmt.Errorf("parse DG13: fields: %w", err)
	}
	if len(fields) > maxDG13Fields {
		return DG13{}, fmt.Errorf("parse DG13: %d fields, more than %d", len(fields), maxDG13Fields)
	}
	for _, f := range fields {
		if f.Tag != 0x30 {
			return DG13{}, fmt.Errorf("parse DG13: field is tag %X, want SEQUENCE", f.Tag)
		}
		if err := d.setField(f.Value); err != nil {
			return DG13{}, fmt.Errorf("parse DG13: %w", err)
		}
	}
	return d, nil
}

func smallInt(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 2 || b[0]&0x80 != 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		n = n<<8 | int(c)
	}
	return n, true
}

func (d *DG13) setField(body []byte) error {
	items, err := children(body)
	if err != nil {
		return err
	}
	if len(items) == 0 || items[0].Tag != 0x02 {
		return fmt.Errorf("field without a number")
	}
	n, ok := smallInt(items[0].Value)
	if !ok {
		return fmt.Errorf("field number is not a small integer")
	}
	rest := items[1:]
	text := func() (string, error) {
		s, err := firstText(rest, 0)
		if err != nil {
			return "", fmt.Errorf("field %d: %w", n, err)
		}
		return s, nil
	}
	var dst *string
	switch n {
	case 1:
		dst = &d.ID
	case 2:
		dst = &d.Name
	case 3:
		dst = &d.Birth
	case 4:
		dst = &d.Sex
	case 5:
		dst = &d.Nationality
	case 6:
		dst = &d.Ethnicity
	case 7:
		dst = &d.Religion
	case 8:
		dst = &d.Origin
	case 9:
		dst = &d.Residence
	case 10:
		dst = &d.Marks
	case 11:
		dst = &d.Issued
	case 12:
		dst = &d.Expiry
	case 13:
		return d.setParents(rest)
	case 14:
		dst = &d.Spouse
	case 15:
		dst = &d.OldID
	case 16:
		dst = &d.Field16
	default:
		if d.Unknown == nil {
			d.Unknown = map[int][]byte{}
		}
		if len(d.Unknown) < maxDG13Fields {
			d.Unknown[n] = append([]byte(nil), body...)
		}
		return nil
	}
	s, err := text()
	if err != nil {
		return err
	}
	*dst = s
	return nil
}

// setParents reads field 13 in either layout: two SEQUENCEs (father, mother) or one
// SEQUENCE holding those two.
func (d *DG13) setParents(items []emrtd.TLV) error {
	d.ParentLayout = ParentsFlat
	if len(items) == 1 && items[0].Tag == 0x30 {
		inner, err := children(items[0].Value)
		if err != nil {
			return fmt.Errorf("field 13: %w", err)
		}
		if len(inner) > 0 && inner[0].Tag == 0x30 {
			items = inner
			d.ParentLayout = ParentsNested
		}
	}
	var names []string
	for _, it := range items {
		s, err := firstText([]emrtd.TLV{it}, 0)
		if err != nil {
			return fmt.Errorf("field 13: %w", err)
		}
		names = append(names, s)
	}
	if len(names) > 0 {
		d.Father = names[0]
	}
	if len(names) > 1 {
		d.Mother = names[1]
	}
	return nil
}

// firstText returns the first string found in items, depth first; empty when none.
func firstText(items []emrtd.TLV, depth int) (string, error) {
	if depth > maxTLVDepth {
		return "", fmt.Errorf("nested too deep")
	}
	for _, it := range items {
		switch it.Tag {
		case 0x0C, 0x13, 0x16, 0x14, 0x1A: // UTF8String, PrintableString, IA5String, T61String, VisibleString
			if !utf8.Valid(it.Value) {
				return "", fmt.Errorf("text is not valid UTF-8")
			}
			return string(it.Value), nil
		}
		if it.Constructed() {
			inner, err := children(it.Value)
			if err != nil {
				return "", err
			}
			s, err := firstText(inner, depth+1)
			if err != nil || s != "" {
				return s, err
			}
		}
	}
	return "", nil
}

// BuildDG13 encodes d as EF.DG13 bytes in the layout cards use: PrintableString for
// the ID, dates and numbers, UTF8String for text, field 13 in d.ParentLayout, field 14
// as 30 03 02 01 0E when there is no spouse. Empty fields other than 13 and 14 are left
// out. It exists to build test cards.
func BuildDG13(d DG13) []byte {
	field := func(n int, content []byte) []byte {
		return emrtd.EncodeTLV(0x30, append([]byte{0x02, 0x01, byte(n)}, content...))
	}
	textField := func(n int, tag uint32, s string) []byte {
		if s == "" {
			return nil
		}
		return field(n, emrtd.EncodeTLV(tag, []byte(s)))
	}
	var set []byte
	set = append(set, textField(1, 0x13, d.ID)...)
	set = append(set, textField(2, 0x0C, d.Name)...)
	set = append(set, textField(3, 0x13, d.Birth)...)
	set = append(set, textField(4, 0x0C, d.Sex)...)
	set = append(set, textField(5, 0x0C, d.Nationality)...)
	set = append(set, textField(6, 0x0C, d.Ethnicity)...)
	set = append(set, textField(7, 0x0C, d.Religion)...)
	set = append(set, textField(8, 0x0C, d.Origin)...)
	set = append(set, textField(9, 0x0C, d.Residence)...)
	set = append(set, textField(10, 0x0C, d.Marks)...)
	set = append(set, textField(11, 0x13, d.Issued)...)
	set = append(set, textField(12, 0x0C, d.Expiry)...)
	father := emrtd.EncodeTLV(0x30, emrtd.EncodeTLV(0x0C, []byte(d.Father)))
	mother := emrtd.EncodeTLV(0x30, emrtd.EncodeTLV(0x0C, []byte(d.Mother)))
	parents := append(father, mother...)
	if d.ParentLayout == ParentsNested {
		parents = emrtd.EncodeTLV(0x30, parents)
	}
	set = append(set, field(13, parents)...)
	if d.Spouse == "" {
		set = append(set, field(14, nil)...)
	} else {
		set = append(set, field(14, emrtd.EncodeTLV(0x30, emrtd.EncodeTLV(0x0C, []byte(d.Spouse))))...)
	}
	set = append(set, textField(15, 0x13, d.OldID)...)
	set = append(set, textField(16, 0x13, d.Field16)...)

	version := d.Version
	if version == 0 {
		version = 1
	}
	var seq []byte
	seq = append(seq, 0x02, 0x01, byte(version))
	seq = appendTLV(seq, 0x06, DG13OID)
	seq = appendTLV(seq, 0x31, set)
	return emrtd.EncodeTLV(0x6D, emrtd.EncodeTLV(0x30, seq))
}

// DG13Of gives the Vietnamese data group of a read document and the fact about it:
// passed when it parsed; encrypted (emrtd.CheckEncrypted, emrtd.EncryptedDetail) when
// the card refused it for want of a key or holds a cryptogram in it, as the 2024 card
// does; absent when the card has none; error when it does not parse.
func DG13Of(doc *emrtd.Document) (DG13, emrtd.Check) {
	if doc != nil && slices.Contains(doc.PassiveAuth.Encrypted, 13) {
		return DG13{}, emrtd.Check{Status: emrtd.CheckEncrypted, Detail: emrtd.EncryptedDetail}
	}
	var raw []byte
	ok := false
	if doc != nil {
		raw, ok = doc.Raw["DG13"]
	}
	if !ok {
		return DG13{}, emrtd.Check{Status: emrtd.CheckAbsent}
	}
	d, err := ParseDG13(raw)
	switch {
	case errors.Is(err, ErrEncrypted):
		return DG13{}, emrtd.Check{Status: emrtd.CheckEncrypted, Detail: emrtd.EncryptedDetail, Err: err}
	case err != nil:
		return DG13{}, emrtd.Check{Status: emrtd.CheckError, Detail: err.Error(), Err: err}
	}
	return d, emrtd.Check{Status: emrtd.CheckPassed}
}
