package emrtd

import (
	"context"
	"errors"
	"fmt"

	"motcua-agent/drivers/emrtd/internal/sm"
)

// Chunk sizes of READ BINARY: 0xDF fits a short protected response under
// both 3DES and AES secure messaging; 0x100 is the short maximum; larger
// sizes need extended-length APDUs.
const (
	chunkSafeSM   = 0xDF
	chunkShortMax = 0x100
	chunkExtMax   = 0x7F00
	maxOffset     = 0x7FFF // READ BINARY with even INS addresses 15 bits
)

// chunker chooses READ BINARY sizes across the files of one session: it
// starts with what every card allows, grows while the card accepts, and
// shrinks (and stops growing) when the card refuses a size.
type chunker struct {
	size     int
	extended bool
	noGrow   bool
	fixed    bool
}

func newChunker(extended bool, fixed int) *chunker {
	if fixed > 0 {
		return &chunker{size: fixed, fixed: true, noGrow: true, extended: fixed > chunkShortMax}
	}
	return &chunker{size: chunkSafeSM, extended: extended}
}

// next returns the size to try after a fully accepted read.
func (k *chunker) next() int {
	// Without a reader that says it carries extended APDUs, stay at 0xDF:
	// a 256-byte answer under secure messaging exceeds a short response
	// and some readers fail the transmission itself.
	if k.noGrow || !k.extended {
		return k.size
	}
	switch {
	case k.size < chunkShortMax:
		return chunkShortMax
	case k.extended && k.size < chunkExtMax:
		n := k.size * 4
		if n > chunkExtMax {
			n = chunkExtMax
		}
		return n
	}
	return k.size
}

// refuse records that the card refused size; exact is the size a 6Cxx
// asked for, or -1.
func (k *chunker) refuse(size, exact int) {
	k.noGrow = true
	switch {
	case exact > 0 && exact < size:
		k.size = exact
	case size > chunkShortMax:
		k.size = chunkShortMax
	case size > chunkSafeSM:
		k.size = chunkSafeSM
	default:
		k.size = size / 2
	}
}

// readBinary reads n bytes at offset with the given size.
func (c *conn) readBinary(ctx context.Context, offset, le int) ([]byte, error) {
	cmd := sm.Command{INS: 0xB0, P1: byte(offset >> 8), P2: byte(offset), Le: le, Extended: le > chunkShortMax}
	return c.send(ctx, cmd)
}

// readBinaryOdd reads with INS B1: the offset in DO54, the data in DO53.
func (c *conn) readBinaryOdd(ctx context.Context, offset, le int) ([]byte, error) {
	off := []byte{byte(offset >> 16), byte(offset >> 8), byte(offset)}
	for len(off) > 1 && off[0] == 0 {
		off = off[1:]
	}
	resp, err := c.send(ctx, sm.Command{INS: 0xB1, Data: EncodeTLV(0x54, off), Le: le + 4, Extended: le+4 > chunkShortMax})
	if err != nil {
		return nil, err
	}
	t, err := ParseSingleTLV(resp, 0x53)
	if err != nil {
		return nil, fmt.Errorf("odd READ BINARY answer: %w", err)
	}
	return t.Value, nil
}

// readFile selects fid and reads it whole. The file's outer TLV gives its
// length; a length above max is refused before anything more is read.
func (c *conn) readFile(ctx context.Context, fid uint16, max int, k *chunker) ([]byte, error) {
	if err := c.selectFile(ctx, fid); err != nil {
		return nil, fmt.Errorf("select %04X: %w", fid, err)
	}
	first, err := c.readChunk(ctx, 0, k.size, k)
	if err != nil {
		return nil, fmt.Errorf("read %04X at 0: %w", fid, err)
	}
	return c.readRest(ctx, fid, first, max, k)
}

// readRest reads the rest of the file whose first bytes are first.
func (c *conn) readRest(ctx context.Context, fid uint16, first []byte, max int, k *chunker) ([]byte, error) {
	total, err := tlvTotalLength(first)
	if err != nil {
		return nil, fmt.Errorf("read %04X: %w", fid, err)
	}
	if total > max {
		return nil, fmt.Errorf("read %04X: file of %d bytes exceeds the cap of %d: %w", fid, total, max, ErrTooLarge)
	}
	if len(first) >= total {
		return first[:total], nil
	}
	buf := make([]byte, 0, total)
	buf = append(buf, first...)
	for len(buf) < total {
		want := total - len(buf)
		if len(buf) > maxOffset {
			// Past 32 KiB: READ BINARY with odd INS and an offset object.
			size := k.size
			if want < size {
				size = want
			}
			part, err := c.readBinaryOdd(ctx, len(buf), size)
			if err != nil {
				return nil, fmt.Errorf("read %04X at %d: %w", fid, len(buf), err)
			}
			if len(part) == 0 || len(part) > want {
				return nil, fmt.Errorf("read %04X at %d: card returned %d bytes: %w", fid, len(buf), len(part), ErrMalformedResponse)
			}
			buf = append(buf, part...)
			continue
		}
		size := k.size
		if !k.noGrow && want > k.size {
			size = k.next()
		}
		if want < size {
			size = want
		}
		part, err := c.readChunk(ctx, len(buf), size, k)
		if err != nil {
			return nil, fmt.Errorf("read %04X at %d: %w", fid, len(buf), err)
		}
		if len(part) == 0 {
			return nil, fmt.Errorf("read %04X at %d: card returned no data: %w", fid, len(buf), ErrMalformed)
		}
		if len(part) > want {
			part = part[:want]
		}
		buf = append(buf, part...)
	}
	return buf, nil
}

// readFileSFI reads a file with READ BINARY by short file identifier, which selects
// it without a SELECT command, then continues at plain offsets.
func (c *conn) readFileSFI(ctx context.Context, fid uint16, max int) ([]byte, error) {
	first, err := c.send(ctx, sm.Command{INS: 0xB0, P1: 0x80 | byte(fid&0x1F), P2: 0, Le: chunkSafeSM})
	if err != nil {
		return nil, fmt.Errorf("read %04X by short identifier: %w", fid, err)
	}
	return c.readRest(ctx, fid, first, max, newChunker(false, 0))
}

// readChunk reads at offset, shrinking the size on 6700 and 6Cxx and
// recording accepted growth. A refused growth attempt stops growth.
func (c *conn) readChunk(ctx context.Context, offset, size int, k *chunker) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		hadSM := c.sm != nil
		data, err := c.readBinary(ctx, offset, size)
		if err == nil {
			if len(data) > size {
				return nil, fmt.Errorf("card returned %d bytes for Le %d: %w", len(data), size, ErrMalformedResponse)
			}
			if size > k.size && len(data) == size {
				k.size = size
			}
			return data, nil
		}
		var se *StatusError
		if k.fixed || attempt > 8 || !errors.As(err, &se) {
			return nil, err
		}
		growth := size > k.size
		if !growth && !errors.Is(err, ErrWrongLe) && !errors.Is(err, ErrWrongLength) {
			return nil, err
		}
		if growth {
			k.noGrow = true
		} else {
			k.refuse(size, se.ExactLe())
		}
		size = k.size
		if hadSM && c.sm == nil {
			return nil, fmt.Errorf("size refused: %w", errSessionLost)
		}
		if size < 1 {
			return nil, err
		}
	}
}

// errSessionLost means the card ended secure messaging; Read re-opens it.
var errSessionLost = errors.New("secure messaging session lost")

// tlvTotalLength returns the length of the whole TLV object starting b.
func tlvTotalLength(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, fmt.Errorf("file header of %d bytes: %w", len(b), ErrMalformed)
	}
	i := 1
	if b[0]&0x1F == 0x1F {
		for i < len(b) && i < 3 && b[i]&0x80 != 0 {
			i++
		}
		i++
	}
	if i >= len(b) {
		return 0, fmt.Errorf("file header truncated: %w", ErrMalformed)
	}
	n, used, err := parseLength(b[i:])
	if err != nil {
		return 0, fmt.Errorf("file header: %w", err)
	}
	return i + used + n, nil
}
