package cccd

import "motcua-agent/drivers/emrtd"

// DG13 uses the LDS's BER-TLV reader (emrtd); these two small adaptations are all it
// adds: trailing filler after the last object, and appending an encoded object.

// maxTLVDepth bounds recursion into nested structures from the card.
const maxTLVDepth = 8

// children parses the whole of b as a sequence of TLVs; some encoders pad with 00 or
// FF after the last object.
func children(b []byte) ([]emrtd.TLV, error) {
	var out []emrtd.TLV
	for len(b) > 0 && !isFiller(b) {
		t, rest, err := emrtd.ParseTLV(b)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		b = rest
	}
	return out, nil
}

func isFiller(b []byte) bool {
	for _, c := range b {
		if c != b[0] || (c != 0x00 && c != 0xFF) {
			return false
		}
	}
	return true
}

// appendTLV appends the encoding of one object to dst.
func appendTLV(dst []byte, tag uint32, value []byte) []byte {
	return append(dst, emrtd.EncodeTLV(tag, value)...)
}
