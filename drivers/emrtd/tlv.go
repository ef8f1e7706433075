package emrtd

import (
	"fmt"
)

// TLV is one BER-TLV data object as used by ISO 7816-4 and the LDS. Tag holds
// the tag bytes as a big-endian number (0x5F1F, 0x7F61, 0x61...).
type TLV struct {
	Tag   uint32
	Value []byte
}

// Constructed reports whether the tag's constructed bit is set.
func (t TLV) Constructed() bool {
	first := t.Tag
	for first > 0xFF {
		first >>= 8
	}
	return first&0x20 != 0
}

// maxTLVLength caps any length read from a TLV (the largest file Read accepts).
const maxTLVLength = 16 << 20

// ParseTLV parses one data object at the start of b and returns it and the
// bytes after it. It is strict: tags of at most three bytes, definite lengths
// of at most four length bytes, the value entirely inside b.
func ParseTLV(b []byte) (TLV, []byte, error) {
	if len(b) == 0 {
		return TLV{}, nil, fmt.Errorf("tlv: empty input: %w", ErrMalformed)
	}
	i := 0
	tag := uint32(b[0])
	i++
	if b[0]&0x1F == 0x1F {
		for {
			if i >= len(b) {
				return TLV{}, nil, fmt.Errorf("tlv: tag truncated: %w", ErrMalformed)
			}
			if i >= 3 {
				return TLV{}, nil, fmt.Errorf("tlv: tag longer than 3 bytes: %w", ErrMalformed)
			}
			tag = tag<<8 | uint32(b[i])
			i++
			if b[i-1]&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return TLV{}, nil, fmt.Errorf("tlv: tag %X: length missing: %w", tag, ErrMalformed)
	}
	n, used, err := parseLength(b[i:])
	if err != nil {
		return TLV{}, nil, fmt.Errorf("tlv: tag %X: %w", tag, err)
	}
	i += used
	if n > len(b)-i {
		return TLV{}, nil, fmt.Errorf("tlv: tag %X: length %d exceeds the %d bytes left: %w", tag, n, len(b)-i, ErrMalformed)
	}
	return TLV{Tag: tag, Value: b[i : i+n : i+n]}, b[i+n:], nil
}

// parseLength decodes a BER definite length and returns it and the bytes used.
func parseLength(b []byte) (int, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("length missing: %w", ErrMalformed)
	}
	first := b[0]
	if first < 0x80 {
		return int(first), 1, nil
	}
	if first == 0x80 {
		return 0, 0, fmt.Errorf("indefinite length not allowed: %w", ErrMalformed)
	}
	k := int(first & 0x7F)
	if k > 4 {
		return 0, 0, fmt.Errorf("length of %d bytes: %w", k, ErrMalformed)
	}
	if len(b) < 1+k {
		return 0, 0, fmt.Errorf("length truncated: %w", ErrMalformed)
	}
	n := 0
	for _, c := range b[1 : 1+k] {
		n = n<<8 | int(c)
	}
	if n > maxTLVLength || n < 0 {
		return 0, 0, fmt.Errorf("length %d: %w", n, ErrTooLarge)
	}
	return n, 1 + k, nil
}

// ParseTLVs parses a concatenation of data objects that fills b exactly.
func ParseTLVs(b []byte) ([]TLV, error) {
	var out []TLV
	for len(b) > 0 {
		t, rest, err := ParseTLV(b)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		b = rest
		if len(out) > 4096 {
			return nil, fmt.Errorf("tlv: more than 4096 objects: %w", ErrTooLarge)
		}
	}
	return out, nil
}

// Children parses the value of a constructed object as a list of objects.
func (t TLV) Children() ([]TLV, error) {
	return ParseTLVs(t.Value)
}

// ParseSingleTLV parses b as exactly one data object with the wanted tag.
func ParseSingleTLV(b []byte, tag uint32) (TLV, error) {
	t, rest, err := ParseTLV(b)
	if err != nil {
		return TLV{}, err
	}
	if t.Tag != tag {
		return TLV{}, fmt.Errorf("tlv: tag %X where %X expected: %w", t.Tag, tag, ErrMalformed)
	}
	if len(rest) != 0 && !allPadding(rest) {
		return TLV{}, fmt.Errorf("tlv: %d bytes after tag %X: %w", len(rest), tag, ErrMalformed)
	}
	return t, nil
}

// allPadding reports whether b is only 0x00 or 0xFF filler, which some chips
// leave after the last object of a file.
func allPadding(b []byte) bool {
	for _, c := range b {
		if c != 0x00 && c != 0xFF {
			return false
		}
	}
	return true
}

// Find returns the first child with the given tag.
func Find(list []TLV, tag uint32) (TLV, bool) {
	for _, t := range list {
		if t.Tag == tag {
			return t, true
		}
	}
	return TLV{}, false
}

// EncodeTLV encodes one data object with a minimal definite length.
func EncodeTLV(tag uint32, value []byte) []byte {
	out := make([]byte, 0, len(value)+8)
	switch {
	case tag > 0xFFFF:
		out = append(out, byte(tag>>16), byte(tag>>8), byte(tag))
	case tag > 0xFF:
		out = append(out, byte(tag>>8), byte(tag))
	default:
		out = append(out, byte(tag))
	}
	out = append(out, EncodeLength(len(value))...)
	return append(out, value...)
}

// EncodeLength encodes a BER definite length in minimal form.
func EncodeLength(n int) []byte {
	switch {
	case n < 0x80:
		return []byte{byte(n)}
	case n <= 0xFF:
		return []byte{0x81, byte(n)}
	case n <= 0xFFFF:
		return []byte{0x82, byte(n >> 8), byte(n)}
	case n <= 0xFFFFFF:
		return []byte{0x83, byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return []byte{0x84, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
}
