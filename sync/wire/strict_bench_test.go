package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"motcua-agent/config/vocab"
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

// sitePush is one site's push as the hub receives it from every agent, every few
// seconds: 20 counter rows with their dims, and a heartbeat with its devices and
// states.
func sitePush(b *testing.B) []byte {
	b.Helper()
	p := PushRequest{Schema: SchemaVersion, Site: "P40-S017", Device: "pc-quay-1",
		Heartbeat: &Heartbeat{Version: "1.4.0", Clock: time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC), Backlog: 0,
			Devices: []DeviceState{
				{Name: "reader-1", Kind: "pcsc", State: "ok"},
				{Name: "printer", Kind: "escpos", State: "degraded", Detail: "paper low"},
				{Name: "gate-1", Kind: "serial", State: "ok"},
			},
			Config: &ConfigState{Version: "2026-11-19.3", Source: "hub"},
			Update: &UpdateState{Running: "1.4.0", Outcome: "committed", Version: "1.4.0"}}}
	for i := range 20 {
		p.Snapshots = append(p.Snapshots, Snapshot{Day: "2026-11-20", Metric: vocab.TicketsIssued,
			Dims:  map[string]string{vocab.DimService: fmt.Sprint(1 + i), vocab.DimCounter: fmt.Sprintf("Q%d", 1+i%4)},
			Value: int64(10 * i), Revision: int64(4000 + i), Epoch: "e20261101"})
	}
	data, err := json.Marshal(p)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// decodeOld is Decode as it was before json v2 read the second pass: the same
// scanner, then encoding/json's Decoder with unknown fields refused. It is the
// baseline of the benchmarks and the oracle of FuzzDecodeMatchesEncodingJSON.
func decodeOld(st Strictness, data []byte, v any) error {
	if err := st.check(data, v); err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// BenchmarkDecodeStrict is the hub's decoding of one push: a site's push of 20 rows
// and a province's day of 2,000 rows.
func BenchmarkDecodeStrict(b *testing.B) {
	benchDecoders(b, "site-push-20/", sitePush(b))
	benchDecoders(b, "province-2000/", bigPush(b))
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
	benchDecoders(b, "", body.Bytes())
}

// benchDecoders decodes data with DecodeStrict ("strict") against two baselines in
// the same run: the same scanner with encoding/json's Decoder as the second pass (what
// Decode did before json v2, "scanner+encoding-json"), and encoding/json alone with
// unknown fields refused (what a competent engineer writes first; it lets duplicate
// keys and other-case names through).
func benchDecoders(b *testing.B, prefix string, data []byte) {
	for _, d := range []struct {
		name   string
		decode func([]byte, any) error
	}{
		{"strict", DecodeStrict},
		{"scanner+encoding-json", func(data []byte, v any) error { return decodeOld(Strictness{}, data, v) }},
		{"baseline-json-disallow-unknown", func(data []byte, v any) error {
			d := json.NewDecoder(bytes.NewReader(data))
			d.DisallowUnknownFields()
			return d.Decode(v)
		}},
	} {
		b.Run(prefix+d.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var p PushRequest
				if err := d.decode(data, &p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
