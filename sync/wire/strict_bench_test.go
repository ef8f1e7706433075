package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// bigPush is a province's day as a national hub receives it: 2,000 rows.
func bigPush(b *testing.B) []byte {
	b.Helper()
	p := PushRequest{Schema: SchemaVersion, Site: "P40", Device: "hub-40",
		Heartbeat: &Heartbeat{Version: "1.4.0", Clock: time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC), Backlog: 3,
			Devices: []DeviceState{{Name: "agents", State: "ok", Detail: "100 agents enrolled, 0 silent"}}}}
	for i := range 2000 {
		p.Snapshots = append(p.Snapshots, Snapshot{Day: "2026-11-20", Metric: "tickets.issued",
			Dims:  map[string]string{"site": fmt.Sprintf("P40-S%03d", i/20), "commune": "Xã Số 1", "service": fmt.Sprint(i % 20)},
			Value: int64(i), Revision: int64(i + 1), Epoch: "e1"})
	}
	data, err := json.Marshal(p)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkDecodeStrict is the hub's decoding of one push, against the baseline of
// encoding/json with unknown fields refused (what a competent engineer writes first;
// it lets duplicate keys and other-case names through).
func BenchmarkDecodeStrict(b *testing.B) {
	data := bigPush(b)
	b.Run("strict", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var p PushRequest
			if err := DecodeStrict(data, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-json-disallow-unknown", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var p PushRequest
			d := json.NewDecoder(bytes.NewReader(data))
			d.DisallowUnknownFields()
			if err := d.Decode(&p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecodeStrictHostileKeys is a hostile body: one snapshot whose dims hold
// 100,000 distinct keys (about 2 MB). The strict check must stay linear: its cost
// against encoding/json's own decode of the same body.
func BenchmarkDecodeStrictHostileKeys(b *testing.B) {
	var body bytes.Buffer
	body.WriteString(`{"schema":2,"site":"S","device":"D","snapshots":[{"day":"2026-11-20","metric":"m","dims":{`)
	for i := range 100000 {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `"k%d":"v"`, i)
	}
	body.WriteString(`},"value":1,"rev":1}]}`)
	data := body.Bytes()
	b.Run("strict", func(b *testing.B) {
		for b.Loop() {
			var p PushRequest
			if err := DecodeStrict(data, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-json-disallow-unknown", func(b *testing.B) {
		for b.Loop() {
			var p PushRequest
			d := json.NewDecoder(bytes.NewReader(data))
			d.DisallowUnknownFields()
			if err := d.Decode(&p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
