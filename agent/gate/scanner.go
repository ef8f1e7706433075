package gate

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"time"

	"go.bug.st/serial"

	"motcua-agent/agent/health"
)

// ReadScanner reads a lane's serial QR scanner (USB-CDC mode: one code per line) and
// hands each code to the gate, until ctx ends. An unplugged scanner is reported on the
// dashboard and reopened when it comes back.
//
// It is the gate's own small line reader, kept until drivers/scanner lands; it never
// logs a payload.
func (g *Gate) ReadScanner(ctx context.Context, laneName string) {
	l, ok := g.lanes[laneName]
	if !ok {
		return
	}
	name := "gate-" + laneName + "-scanner"
	report := func(st health.State, detail, msg string) {
		if g.hl != nil {
			g.hl.Set(health.Device{Name: name, Kind: "scanner", State: st, Detail: detail, Message: msg})
		}
	}
	for ctx.Err() == nil {
		err := g.readScannerOnce(ctx, laneName, l.cfg.Scanner.Port, l.cfg.Scanner.Baud, func() {
			report(health.OK, "", "Máy quét "+l.cfg.Title+" hoạt động tốt")
		})
		if ctx.Err() != nil {
			return
		}
		report(health.Fault, err.Error(), "Máy quét "+l.cfg.Title+" bị ngắt kết nối: kiểm tra cáp USB.")
		select {
		case <-ctx.Done():
			return
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func (g *Gate) readScannerOnce(ctx context.Context, laneName, path string, baud int, opened func()) error {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("scanner %s: %w", path, err)
	}
	p, err := serial.Open(path, &serial.Mode{BaudRate: baud})
	if err != nil {
		return fmt.Errorf("scanner %s: open: %w", path, err)
	}
	defer p.Close()
	if err := p.SetReadTimeout(250 * time.Millisecond); err != nil {
		return fmt.Errorf("scanner %s: %w", path, err)
	}
	opened()
	var lines lineSplitter
	buf := make([]byte, 512)
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n, err := p.Read(buf)
		if err != nil {
			return fmt.Errorf("scanner %s: read: %w", path, err)
		}
		if n == 0 {
			// Idle: a device that went away (or came back as a new one) shows here.
			if now, err := filepath.EvalSymlinks(path); err != nil || now != target {
				return fmt.Errorf("scanner %s: unplugged", path)
			}
			continue
		}
		at := time.Now()
		for _, code := range lines.feed(buf[:n]) {
			if _, err := g.OnScan(ctx, Scan{Lane: laneName, Payload: code, At: at}); err != nil {
				g.log.Error("gate: scan", "lane", laneName, "err", err)
			}
		}
	}
}

// lineSplitter cuts a scanner's byte stream into codes: one per line, CR, LF or CR LF
// ending it, empty lines dropped. A line longer than any code is kept as one overlong
// (unreadable) code instead of a flood of fragments.
type lineSplitter struct {
	line     []byte
	overlong bool
}

// feed takes the next bytes and returns the codes they complete (copies).
func (s *lineSplitter) feed(chunk []byte) [][]byte {
	var out [][]byte
	for len(chunk) > 0 {
		i := bytes.IndexAny(chunk, "\r\n")
		part := chunk
		if i >= 0 {
			part = chunk[:i]
		}
		if len(s.line)+len(part) > maxPayload {
			s.overlong, s.line = true, s.line[:0]
		} else if !s.overlong {
			s.line = append(s.line, part...)
		}
		if i < 0 {
			break
		}
		chunk = chunk[i+1:]
		switch {
		case s.overlong:
			out = append(out, bytes.Repeat([]byte{'x'}, maxPayload+1))
		case len(s.line) > 0:
			out = append(out, append([]byte(nil), s.line...))
		}
		s.line, s.overlong = s.line[:0], false
	}
	return out
}
