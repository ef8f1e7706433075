package cccd

import (
	"errors"
	"fmt"
)

// The DG13 parser needs only a small BER-TLV reader: real cards have been seen with
// long-form lengths where short ones would do, which encoding/asn1 rejects.

var errTruncated = errors.New("truncated TLV")

type tlv struct {
	tag         uint32
	constructed bool
	value       []byte
}

// maxTLVDepth bounds recursion into nested structures from the card.
const maxTLVDepth = 8

// readTLV reads one TLV from b and returns it and the rest of b.
func readTLV(b []byte) (tlv, []byte, error) {
	if len(b) < 2 {
		return tlv{}, nil, errTruncated
	}
	var t tlv
	i := 0
	first := b[i]
	i++
	t.constructed = first&0x20 != 0
	t.tag = uint32(first)
	if first&0x1F == 0x1F {
		for n := 0; ; n++ {
			if i >= len(b) || n == 3 {
				return tlv{}, nil, fmt.Errorf("tag too long or truncated")
			}
			c := b[i]
			i++
			t.tag = t.tag<<8 | uint32(c)
			if c&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return tlv{}, nil, errTruncated
	}
	l := int(b[i])
	i++
	if l&0x80 != 0 {
		n := l & 0x7F
		if n == 0 || n > 3 {
			return tlv{}, nil, fmt.Errorf("length form 0x%02X not supported", 0x80|n)
		}
		if i+n > len(b) {
			return tlv{}, nil, errTruncated
		}
		l = 0
		for k := 0; k < n; k++ {
			l = l<<8 | int(b[i+k])
		}
		i += n
	}
	if l > len(b)-i {
		return tlv{}, nil, fmt.Errorf("length %d exceeds the %d bytes left: %w", l, len(b)-i, errTruncated)
	}
	t.value = b[i : i+l]
	return t, b[i+l:], nil
}

// children parses the whole of b as a sequence of TLVs.
func children(b []byte) ([]tlv, error) {
	var out []tlv
	for len(b) > 0 {
		// Some encoders pad with 00 or FF after the last object.
		if b[0] == 0x00 || b[0] == 0xFF {
			if allPadding(b) {
				break
			}
		}
		t, rest, err := readTLV(b)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		b = rest
	}
	return out, nil
}

func allPadding(b []byte) bool {
	for _, c := range b {
		if c != b[0] {
			return false
		}
	}
	return true
}

// appendTLV encodes tag (one to three bytes) and value in DER length form.
func appendTLV(dst []byte, tag uint32, value []byte) []byte {
	switch {
	case tag > 0xFFFF:
		dst = append(dst, byte(tag>>16), byte(tag>>8), byte(tag))
	case tag > 0xFF:
		dst = append(dst, byte(tag>>8), byte(tag))
	default:
		dst = append(dst, byte(tag))
	}
	n := len(value)
	switch {
	case n < 0x80:
		dst = append(dst, byte(n))
	case n <= 0xFF:
		dst = append(dst, 0x81, byte(n))
	case n <= 0xFFFF:
		dst = append(dst, 0x82, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, value...)
}
