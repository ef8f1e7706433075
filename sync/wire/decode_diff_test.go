package wire

import (
	"reflect"
	"testing"
)

// strictSeeds are the bodies the strict reader's other fuzz tests start from, and the
// corners where json v2 and encoding/json part ways unless told to read alike: nulls,
// numbers, times, escapes, case.
var strictSeeds = []string{
	`{"schema":2,"site":"S","device":"D","snapshots":[{"day":"2026-11-20","metric":"m","dims":{"a":"1"},"value":1,"rev":1}]}`,
	`{"schema":2,"site":"S","site":"T"}`,
	`{"schema":2,"Site":"S"}`,
	`{"schema":2,"s\u0069te":"S","site":"T"}`,
	`{"snapshots":[{"dims":{"a":"1","a":"2"}}]} `,
	`{"heartbeat":{"devices":[{"name":"x","state":"ok"}],"clock":"2026-11-20T01:00:00Z"}} {}`,
	`[1, {"a": tru}]`,
	"{\"Site\":\"\xff\"}",
	`{"schema":4,"site":"P40-S017","device":"pc-1","snapshots":[{"day":"2026-11-20","metric":"tickets.issued","dims":{"service":"1","counter":"Q1"},"value":0,"rev":4000,"epoch":"e1"}],"heartbeat":{"version":"1.4.0","clock":"2026-11-20T08:30:00Z","backlog":0,"devices":[{"name":"printer","kind":"escpos","state":"degraded","detail":"paper low"}],"config":{"version":"v3","source":"hub"},"update":{"running":"1.4.0","outcome":"committed"}},"names":[{"kind":"service","code":"1","name":"Chứng thực"}]}`,
	`{"schema":null,"site":null,"snapshots":null,"heartbeat":null,"names":null}`,
	`{"snapshots":[null,{"dims":null},{"dims":{"a":null}}],"heartbeat":{"clock":null,"config":null}}`,
	`{"schema":1e2}`,
	`{"schema":1.0}`,
	`{"schema":-0}`,
	`{"schema":9223372036854775808}`,
	`{"snapshots":[{"value":-9223372036854775808,"rev":01}]}`,
	`{"schema":"2"}`,
	`{"site":2}`,
	`{"heartbeat":{"clock":"2026-11-20T01:00:00+07:00"}}`,
	`{"heartbeat":{"clock":"2026-11-20T01:00:00.123456789Z"}}`,
	`{"heartbeat":{"clock":"2026-11-20 01:00:00Z"}}`,
	`{"heartbeat":{"clock":"2026-11-20T01:00:00z"}}`,
	`{"heartbeat":{"clock":"2026-11-20T1:00:00Z"}}`,
	`{"heartbeat":{"clock":"2026-11-20T01:00:00+24:00"}}`,
	`{"heartbeat":{"clock":"10000-01-01T00:00:00Z"}}`,
	`{"heartbeat":{"clock":""}}`,
	`{"heartbeat":{"clock":"2026-11-20t01:00:00Z"}}`,
	`{"heartbeat":{"clock":"2026-11-20T01:00:00,5Z"}}`,
	`{"heartbeat":{"clock":"2026-11-20T01:00:00.Z"}}`,
	`{"heartbeat":{"clock":"2026-11-20T01:00:60Z"}}`,
	`{"heartbeat":{"clock":"2026-02-30T01:00:00Z"}}`,
	`{"heartbeat":{"clock":"2026-11-20T01:00:00-00:00"}}`,
	`{"heartbeat":{"clock":"2026-11-20T01:00:00+0700"}}`,
	`{"heartbeat":{"clock":"\u0032026-11-20T01:00:00Z"}}`,
	`{"snapshots":[{"dims":{}},{}],"names":[]}`,
	`{"heartbeat":{"clock":1}}`,
	`{"site":"\ud800","device":"\u00e9\uDFFF"}`,
	`{"site":"a\u0000b\/c"}`,
	`{"snapshots":{}}`,
	`{"snapshots":[[]]}`,
	`{"heartbeat":[]}`,
	`{"dims":{}}`,
	`"x"`,
	`null`,
	` {} `,
	`{"service":"A","counter":"2","pages":3,"who":"x","inner":{"station":"k1"}}`,
	`{"service":"A","service":"B"}`,
	`{"Who":"x"}`,
	`{"counter":"\u0041\u0042"}`,
	`{"priority":true,"birth_date":"1950-01-01","level":5,"reasons":["slow",null],"dims":{"a":"b"},"who":null}`,
	`{"priority":"true","level":5.5,"reasons":"slow"}`,
	`{"priority":1,"level":-1,"reasons":[1]}`,
	`{"inner":null,"pages":null,"reasons":[]}`,
}

// agentWrite has every shape of the agent's write bodies (agent/web.ReadJSON's
// callers): tagged and untagged strings, a bool, ints, a list of strings, a map and a
// nested object.
type agentWrite struct {
	Service   string            `json:"service"`
	Counter   string            `json:"counter"`
	Priority  bool              `json:"priority"`
	BirthDate string            `json:"birth_date"`
	Pages     int               `json:"pages"`
	Level     int               `json:"level"`
	Reasons   []string          `json:"reasons"`
	Dims      map[string]string `json:"dims"`
	Who, Why  string
	Inner     struct {
		Station string `json:"station"`
	} `json:"inner"`
}

// FuzzDecodeMatchesEncodingJSON: Decode reads its second pass with json v2 where it
// read it with encoding/json. For any body, both accept or both refuse, and what they
// accept they read into the same value.
func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	for _, s := range strictSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeAlike[PushRequest](t, Strictness{}, data)
	})
}

// FuzzAgentDecodeMatchesEncodingJSON is the same for the agent's API, under its rules:
// the pages' spelling of untagged fields and a size for every string.
func FuzzAgentDecodeMatchesEncodingJSON(f *testing.F) {
	for _, s := range strictSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeAlike[agentWrite](t, Strictness{MaxString: 16, LowerFirst: true}, data)
	})
}

func decodeAlike[T any](t *testing.T, st Strictness, data []byte) {
	t.Helper()
	var got, want T
	errGot := st.Decode(data, &got)
	errWant := decodeOld(st, data, &want)
	if (errGot == nil) != (errWant == nil) {
		t.Fatalf("json v2 says %v, encoding/json says %v, for %q", errGot, errWant, data)
	}
	if errGot == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("read differently from %q:\njson v2:       %+v\nencoding/json: %+v", data, got, want)
	}
}

// TestDecodeMatchesEncodingJSON runs the fuzz seeds through both readers for each kind
// of target (in the fuzz tests too, but this names them), and checks the seeds cover
// both outcomes.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	var accepted, refused int
	for _, s := range strictSeeds {
		decodeAlike[PushRequest](t, Strictness{}, []byte(s))
		decodeAlike[agentWrite](t, Strictness{MaxString: 16, LowerFirst: true}, []byte(s))
		if (Strictness{}).Decode([]byte(s), new(PushRequest)) == nil {
			accepted++
		} else {
			refused++
		}
	}
	if accepted < 5 || refused < 5 {
		t.Fatalf("seeds: %d pushes accepted, %d refused; want both kinds", accepted, refused)
	}
}
