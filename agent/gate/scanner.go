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
	var line []byte
	overlong := false
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
		chunk := buf[:n]
		for len(chunk) > 0 {
			i := bytes.IndexAny(chunk, "\r\n")
			if i < 0 {
				if len(line)+len(chunk) > maxPayload {
					overlong, line = true, line[:0]
				} else {
					line = append(line, chunk...)
				}
				break
			}
			if len(line)+i > maxPayload {
				overlong = true
			} else {
				line = append(line, chunk[:i]...)
			}
			chunk = chunk[i+1:]
			if overlong {
				// Too long for any code: one unreadable scan, not a flood of fragments.
				line = append(line[:0], bytes.Repeat([]byte{'x'}, maxPayload+1)...)
			}
			if len(line) > 0 {
				if _, err := g.OnScan(ctx, Scan{Lane: laneName, Payload: line, At: at}); err != nil {
					g.log.Error("gate: scan", "lane", laneName, "err", err)
				}
			}
			line, overlong = line[:0], false
		}
	}
}
