package scanner

import (
	"bytes"
	"errors"
	"fmt"

	"motcua-agent/config"
)

// ErrIncomplete is a scan cut short: the scanner went away before its suffix came.
var ErrIncomplete = errors.New("incomplete scan: the scanner disconnected before the end of the scan")

// ErrOverlong is a scan longer than the scanner's max_scan; its bytes up to the next
// suffix (or idle gap) are dropped.
var ErrOverlong = errors.New("scan longer than max_scan: dropped (is the scanner's suffix set as configured?)")

// Frame is one scan's bytes cut from the serial stream.
type Frame struct {
	Data []byte
	// ByIdle: the frame ended because bytes stopped coming, not on the suffix.
	ByIdle bool
	Err    error
}

// Framer cuts a byte stream into scans at a suffix (CR, LF, CRLF) and, on request,
// at an idle gap. It is pure: the reader feeds it bytes and tells it when the line
// went quiet. It never holds more than max bytes.
type Framer struct {
	suffix   []byte
	max      int
	buf      []byte
	dropping bool
}

// SuffixBytes gives the bytes of a configured suffix name (nil for none).
func SuffixBytes(name string) ([]byte, error) {
	switch name {
	case config.SuffixCR, "":
		return []byte{'\r'}, nil
	case config.SuffixLF:
		return []byte{'\n'}, nil
	case config.SuffixCRLF:
		return []byte{'\r', '\n'}, nil
	case config.SuffixNone:
		return nil, nil
	}
	return nil, fmt.Errorf("unknown suffix %q (cr, lf, crlf, none)", name)
}

// NewFramer frames at suffix (nil: only at idle gaps), refusing frames over max bytes.
func NewFramer(suffix []byte, max int) *Framer {
	if max <= 0 {
		max = 4096
	}
	return &Framer{suffix: append([]byte(nil), suffix...), max: max}
}

// Write feeds bytes and returns the frames they complete, in order. Empty frames (a
// stray CR or LF) are skipped.
func (f *Framer) Write(p []byte) []Frame {
	var out []Frame
	for _, c := range p {
		if f.dropping {
			// Keep only a tail that may begin the suffix; wait for it to resync.
			if len(f.suffix) == 0 {
				continue
			}
			if len(f.buf) >= len(f.suffix) {
				copy(f.buf, f.buf[1:])
				f.buf = f.buf[:len(f.suffix)-1]
			}
			f.buf = append(f.buf, c)
			if bytes.Equal(f.buf, f.suffix) {
				f.cut(len(f.suffix), false, &out)
			}
			continue
		}
		f.buf = append(f.buf, c)
		if len(f.suffix) > 0 && c == f.suffix[len(f.suffix)-1] && bytes.HasSuffix(f.buf, f.suffix) {
			f.cut(len(f.suffix), false, &out)
			continue
		}
		if len(f.buf) > f.max+len(f.suffix) {
			out = append(out, Frame{Err: fmt.Errorf("%w (more than %d bytes)", ErrOverlong, f.max)})
			f.dropping = true
			f.buf = f.buf[:0]
		}
	}
	return out
}

// cut ends the current frame, removing trim bytes of suffix from its end.
func (f *Framer) cut(trim int, byIdle bool, out *[]Frame) {
	data := f.buf[:max(len(f.buf)-trim, 0)]
	if f.dropping {
		f.dropping = false
		f.buf = f.buf[:0]
		return
	}
	clean := bytes.Trim(data, "\r\n")
	if len(clean) > 0 {
		*out = append(*out, Frame{Data: append([]byte(nil), clean...), ByIdle: byIdle})
	}
	f.buf = f.buf[:0]
}

// Pending is how many bytes wait for their suffix.
func (f *Framer) Pending() int { return len(f.buf) }

// Idle ends the pending bytes as a frame: the line went quiet for the idle gap.
func (f *Framer) Idle() (Frame, bool) {
	var out []Frame
	f.cut(0, true, &out)
	if len(out) == 0 {
		return Frame{}, false
	}
	return out[0], true
}

// Lost ends the pending bytes because the scanner went away: with a suffix they are an
// incomplete scan; without one they are a whole scan (nothing else ends it).
func (f *Framer) Lost() (Frame, bool) {
	fr, ok := f.Idle()
	if ok && len(f.suffix) > 0 {
		fr = Frame{Err: fmt.Errorf("%w (%d bytes)", ErrIncomplete, len(fr.Data))}
	}
	return fr, ok
}
