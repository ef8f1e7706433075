package hub

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
	"time"

	"motcua-agent/sync/wire"
)

// FuzzDecodePush feeds arbitrary bodies (plain and gzip) to the push decoder and
// validator: they must refuse cleanly or yield a push that passes validation, never panic.
func FuzzDecodePush(f *testing.F) {
	f.Add([]byte(`{"schema":1,"site":"S1","device":"pc1","snapshots":[{"day":"2026-11-20","metric":"checkins","dims":{"service":"13"},"value":4,"rev":3}]}`), false)
	f.Add([]byte(`{"schema":1,"site":"S1","device":"pc1","snapshots":[],"heartbeat":{"version":"1","clock":"2026-11-23T09:00:00Z","backlog":0}}`), true)
	f.Add([]byte(`{"schema":2}`), false)
	f.Add([]byte(`[]`), false)
	today := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // reused: a new writer per input is slow
	f.Fuzz(func(t *testing.T, body []byte, gz bool) {
		enc := ""
		if gz {
			buf.Reset()
			zw.Reset(&buf)
			zw.Write(body)
			zw.Close()
			body, enc = bytes.Clone(buf.Bytes()), "gzip"
		}
		var p wire.PushRequest
		if perr := decodePush(enc, body, &p); perr != nil {
			if perr.status < 400 || perr.status > 499 {
				t.Fatalf("decode error with status %d", perr.status)
			}
			return
		}
		if err := p.Validate(today); err == nil {
			for _, s := range p.Snapshots {
				if s.Value < 0 || s.Revision <= 0 || len(s.Dims) > wire.MaxDims {
					t.Fatalf("validated a bad snapshot %+v", s)
				}
			}
		}
	})
}

// FuzzLoadCatalogue: the province's catalogue file is outside input too.
func FuzzLoadCatalogue(f *testing.F) {
	f.Add("no,code,name,level\n13,1.001193,Đăng ký khai sinh,3\n")
	f.Add("no,code,name,level\n1,\"a,b\",x,\n")
	f.Fuzz(func(t *testing.T, text string) {
		cat, err := LoadCatalogue(strings.NewReader(text))
		if err != nil {
			return
		}
		for _, s := range cat {
			if s.No <= 0 || s.Name == "" || len(s.Codes) == 0 {
				t.Fatalf("loaded a bad service %+v", s)
			}
		}
	})
}
