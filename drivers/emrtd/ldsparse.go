package emrtd

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// dataGroupTags maps LDS data group tags to their numbers.
var dataGroupTags = map[byte]int{
	0x61: 1, 0x75: 2, 0x63: 3, 0x76: 4, 0x65: 5, 0x66: 6, 0x67: 7, 0x68: 8,
	0x69: 9, 0x6A: 10, 0x6B: 11, 0x6C: 12, 0x6D: 13, 0x6E: 14, 0x6F: 15, 0x70: 16,
}

// DataGroupTag returns the LDS tag of data group n, or 0.
func DataGroupTag(n int) byte {
	for t, g := range dataGroupTags {
		if g == n {
			return t
		}
	}
	return 0
}

// ParseCOM parses EF.COM (tag 60).
func ParseCOM(b []byte) (*COM, error) {
	t, err := ParseSingleTLV(b, 0x60)
	if err != nil {
		return nil, fmt.Errorf("EF.COM: %w", err)
	}
	kids, err := t.Children()
	if err != nil {
		return nil, fmt.Errorf("EF.COM: %w", err)
	}
	com := &COM{}
	if v, ok := Find(kids, 0x5F01); ok {
		com.LDSVersion = string(v.Value)
	}
	if v, ok := Find(kids, 0x5F36); ok {
		com.UnicodeVersion = string(v.Value)
	}
	list, ok := Find(kids, 0x5C)
	if !ok {
		return nil, fmt.Errorf("EF.COM: no tag list (5C): %w", ErrMalformed)
	}
	for _, tag := range list.Value {
		n, ok := dataGroupTags[tag]
		if !ok {
			return nil, fmt.Errorf("EF.COM: unknown data group tag %02X: %w", tag, ErrMalformed)
		}
		com.DataGroups = append(com.DataGroups, n)
	}
	return com, nil
}

// ParseDG1 parses DG1 (tag 61 containing 5F1F, the MRZ).
func ParseDG1(b []byte) (*MRZ, error) {
	t, err := ParseSingleTLV(b, 0x61)
	if err != nil {
		return nil, fmt.Errorf("DG1: %w", err)
	}
	kids, err := t.Children()
	if err != nil {
		return nil, fmt.Errorf("DG1: %w", err)
	}
	v, ok := Find(kids, 0x5F1F)
	if !ok {
		return nil, fmt.Errorf("DG1: no MRZ (5F1F): %w", ErrMalformed)
	}
	m, err := ParseMRZ(string(v.Value))
	if err != nil {
		return nil, fmt.Errorf("DG1: %w", err)
	}
	return m, nil
}

// ParseMRZ parses MRZ text of 90 (TD1), 72 (TD2) or 88 (TD3) characters,
// with or without line breaks. Structural problems are errors; check digits
// that do not verify are listed in CheckDigitErrors.
func ParseMRZ(s string) (*MRZ, error) {
	s = strings.NewReplacer("\r", "", "\n", "", " ", "").Replace(s)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= '0' && ch <= '9' || ch >= 'A' && ch <= 'Z' || ch == '<') {
			return nil, fmt.Errorf("MRZ: character %q at %d outside the MRZ alphabet: %w", ch, i, ErrMalformed)
		}
	}
	m := &MRZ{}
	check := func(name, field string, digit byte) {
		if digit == '<' && strings.Trim(field, "<") == "" {
			return
		}
		if int(digit)-'0' != CheckDigit(field) {
			m.CheckDigitErrors = append(m.CheckDigitErrors, name)
		}
	}
	switch len(s) {
	case 90:
		m.Format = "TD1"
		l1, l2, l3 := s[:30], s[30:60], s[60:]
		m.Lines = []string{l1, l2, l3}
		m.DocumentCode = trimFiller(l1[0:2])
		m.IssuingState = trimFiller(l1[2:5])
		doc, docCheck := l1[5:14], l1[14]
		opt1 := l1[15:30]
		if docCheck == '<' {
			// Long document number: it continues in the optional data,
			// ending with its check digit.
			ext := strings.TrimRight(opt1, "<")
			if len(ext) < 1 {
				return nil, fmt.Errorf("MRZ: long document number without its end: %w", ErrMalformed)
			}
			doc += ext[:len(ext)-1]
			docCheck = ext[len(ext)-1]
			opt1 = ""
		}
		check("document number", doc, docCheck)
		m.DocumentNumber = trimFiller(doc)
		m.OptionalData1 = trimFiller(opt1)
		m.DateOfBirth = l2[0:6]
		check("date of birth", l2[0:6], l2[6])
		m.Sex = trimFiller(l2[7:8])
		m.DateOfExpiry = l2[8:14]
		check("date of expiry", l2[8:14], l2[14])
		m.Nationality = trimFiller(l2[15:18])
		m.OptionalData2 = trimFiller(l2[18:29])
		check("composite", l1[5:30]+l2[0:7]+l2[8:15]+l2[18:29], l2[29])
		m.PrimaryName, m.SecondaryName = splitName(l3)
	case 72, 88:
		n := len(s) / 2
		l1, l2 := s[:n], s[n:]
		m.Lines = []string{l1, l2}
		m.DocumentCode = trimFiller(l1[0:2])
		m.IssuingState = trimFiller(l1[2:5])
		m.PrimaryName, m.SecondaryName = splitName(l1[5:])
		m.DocumentNumber = trimFiller(l2[0:9])
		check("document number", l2[0:9], l2[9])
		m.Nationality = trimFiller(l2[10:13])
		m.DateOfBirth = l2[13:19]
		check("date of birth", l2[13:19], l2[19])
		m.Sex = trimFiller(l2[20:21])
		m.DateOfExpiry = l2[21:27]
		check("date of expiry", l2[21:27], l2[27])
		if n == 44 {
			m.Format = "TD3"
			m.OptionalData1 = trimFiller(l2[28:42])
			check("optional data", l2[28:42], l2[42])
			check("composite", l2[0:10]+l2[13:20]+l2[21:43], l2[43])
		} else {
			m.Format = "TD2"
			m.OptionalData1 = trimFiller(l2[28:35])
			check("composite", l2[0:10]+l2[13:20]+l2[21:35], l2[35])
		}
	default:
		return nil, fmt.Errorf("MRZ of %d characters is neither TD1 (90), TD2 (72) nor TD3 (88): %w", len(s), ErrMalformed)
	}
	return m, nil
}

func trimFiller(s string) string { return strings.TrimRight(s, "<") }

func splitName(s string) (string, string) {
	s = strings.TrimRight(s, "<")
	primary, secondary, _ := strings.Cut(s, "<<")
	return strings.ReplaceAll(primary, "<", " "), strings.ReplaceAll(secondary, "<", " ")
}

// AccessKey returns the BAC key of this MRZ.
func (m *MRZ) AccessKey() AccessKey {
	return MRZKey(m.DocumentNumber, m.DateOfBirth, m.DateOfExpiry)
}

// ParseDG2 extracts the first facial image from DG2 (75 / 7F61 / 7F60 /
// 5F2E or 7F2E, an ISO/IEC 19794-5 record).
func ParseDG2(b []byte) (*DG2, error) {
	t, err := ParseSingleTLV(b, 0x75)
	if err != nil {
		return nil, fmt.Errorf("DG2: %w", err)
	}
	kids, err := t.Children()
	if err != nil {
		return nil, fmt.Errorf("DG2: %w", err)
	}
	group, ok := Find(kids, 0x7F61)
	if !ok {
		return nil, fmt.Errorf("DG2: no biometric information group (7F61): %w", ErrMalformed)
	}
	kids, err = group.Children()
	if err != nil {
		return nil, fmt.Errorf("DG2: %w", err)
	}
	tmpl, ok := Find(kids, 0x7F60)
	if !ok {
		return nil, fmt.Errorf("DG2: no biometric information template (7F60): %w", ErrMalformed)
	}
	kids, err = tmpl.Children()
	if err != nil {
		return nil, fmt.Errorf("DG2: %w", err)
	}
	block, ok := Find(kids, 0x5F2E)
	if !ok {
		if block, ok = Find(kids, 0x7F2E); !ok {
			return nil, fmt.Errorf("DG2: no biometric data block (5F2E/7F2E): %w", ErrMalformed)
		}
	}
	return parseFaceRecord(block.Value)
}

// parseFaceRecord reads an ISO/IEC 19794-5 facial record: a 14-byte general
// header, a 20-byte facial information block, 8 bytes per feature point, a
// 12-byte image information block, then the image.
func parseFaceRecord(b []byte) (*DG2, error) {
	if len(b) < 14+20+12 || !bytes.Equal(b[:4], []byte("FAC\x00")) {
		return nil, fmt.Errorf("DG2: not an ISO 19794-5 facial record: %w", ErrMalformed)
	}
	p := b[14:]
	blockLen := int(binary.BigEndian.Uint32(p[0:4]))
	points := int(binary.BigEndian.Uint16(p[4:6]))
	off := 20 + 8*points
	if len(p) < off+12 {
		return nil, fmt.Errorf("DG2: facial record truncated: %w", ErrMalformed)
	}
	info := p[off : off+12]
	img := p[off+12:]
	if blockLen >= off+12 && blockLen-off-12 < len(img) {
		img = img[:blockLen-off-12]
	}
	d := &DG2{Width: int(binary.BigEndian.Uint16(info[2:4])), Height: int(binary.BigEndian.Uint16(info[4:6]))}
	switch {
	case bytes.HasPrefix(img, []byte{0xFF, 0xD8, 0xFF}):
		d.Format = "jpeg"
	case bytes.HasPrefix(img, []byte{0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20}), bytes.HasPrefix(img, []byte{0xFF, 0x4F, 0xFF, 0x51}):
		d.Format = "jpeg2000"
	default:
		return nil, fmt.Errorf("DG2: image is neither JPEG nor JPEG 2000 (type byte %d): %w", info[1], ErrMalformed)
	}
	d.Image = img
	return d, nil
}
