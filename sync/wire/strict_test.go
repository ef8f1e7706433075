package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	good := `{"schema":2,"site":"S","device":"D","snapshots":[{"day":"2026-11-20","metric":"m","dims":{"Channel":"a","channel":"b"},"value":1,"rev":1}],"heartbeat":{"version":"v","clock":"2026-11-20T01:00:00Z","backlog":0}}`
	var p PushRequest
	if err := DecodeStrict([]byte(good), &p); err != nil {
		t.Fatalf("strict form refused: %v", err)
	}
	if len(p.Snapshots[0].Dims) != 2 {
		t.Fatalf("dimension keys differing in case are distinct keys of a map: %+v", p.Snapshots[0].Dims)
	}
	for name, bad := range map[string]string{
		"duplicate key":          `{"schema":2,"site":"S","site":"T","device":"D","snapshots":[]}`,
		"duplicate nested key":   `{"schema":2,"site":"S","device":"D","snapshots":[{"day":"2026-11-20","metric":"m","value":1,"rev":1,"rev":9}]}`,
		"duplicate map key":      `{"schema":2,"site":"S","device":"D","snapshots":[{"day":"2026-11-20","metric":"m","dims":{"a":"1","a":"2"},"value":1,"rev":1}]}`,
		"other case":             `{"schema":2,"Site":"S","device":"D","snapshots":[]}`,
		"other case nested":      `{"schema":2,"site":"S","device":"D","snapshots":[{"day":"2026-11-20","metric":"m","value":1,"REV":1}]}`,
		"both cases":             `{"schema":2,"site":"S","sitE":"T","device":"D","snapshots":[]}`,
		"invalid UTF-8":          "{\"schema\":2,\"site\":\"S\xff\",\"device\":\"D\",\"snapshots\":[]}",
		"invalid UTF-8 in a key": "{\"schema\":2,\"site\":\"S\",\"device\":\"D\",\"snapshots\":[],\"heartbeat\":{\"version\":\"v\",\"clock\":\"2026-11-20T01:00:00Z\",\"backlog\":0,\"devices\":[{\"name\":\"\xc3\",\"state\":\"ok\"}]}}",
		"second object":          `{"schema":2,"site":"S","device":"D","snapshots":[]} {"schema":2}`,
		"unknown field":          `{"schema":2,"site":"S","device":"D","snapshots":[],"extra":1}`,
		"null and more":          `nulll`,
		"a number and more":      `{"schema":2,"site":"S","device":"D","snapshots":[{"day":"2026-11-20","metric":"m","value":1,"rev":01}]}`,
		"time with escapes":      `{"schema":2,"site":"S","device":"D","snapshots":[],"heartbeat":{"version":"v","clock":"2026-11-20T01:00:00\u005a","backlog":0}}`,
	} {
		var p PushRequest
		err := DecodeStrict([]byte(bad), &p)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if name != "unknown field" && !errors.Is(err, ErrNotStrictJSON) {
			t.Errorf("%s: %v, want ErrNotStrictJSON", name, err)
		}
	}
}

func TestValidateBoundsRevisionAndClock(t *testing.T) {
	t.Parallel()
	today := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	push := func(rev int64, clock time.Time) *PushRequest {
		return &PushRequest{Schema: SchemaVersion, Site: "S", Device: "D",
			Snapshots: []Snapshot{{Day: "2026-11-20", Metric: "m", Value: 1, Revision: rev}},
			Heartbeat: &Heartbeat{Version: "v", Clock: clock}}
	}
	ok := today.Add(9 * time.Hour)
	for _, tc := range []struct {
		rev   int64
		clock time.Time
		good  bool
	}{
		{1, ok, true},
		{MaxRevision, ok, true},
		{MaxRevision + 1, ok, false},
		{1<<63 - 1, ok, false},
		{1, time.Time{}, true}, // no clock: nothing stored as an offset
		{1, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), true}, // a PC whose clock battery died
		{1, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{1, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), false},
		{1, time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC), false},
		{1, time.Date(2029, 6, 1, 0, 0, 0, 0, time.UTC), true},
		{1, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{1, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		err := push(tc.rev, tc.clock).Validate(today)
		if (err == nil) != tc.good {
			t.Errorf("rev %d clock %s: %v", tc.rev, tc.clock.Format(time.DateOnly), err)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("not ErrInvalid: %v", err)
		}
	}
}

// FuzzDecodeStrict: push bodies come from the network; whatever it accepts, the
// standard decoder reads the same way.
func FuzzDecodeStrict(f *testing.F) {
	f.Add(`{"schema":2,"site":"S","device":"D","snapshots":[{"day":"2026-11-20","metric":"m","dims":{"a":"b"},"value":1,"rev":1}]}`)
	f.Add(`{"site":"S","site":"T"}`)
	f.Add("{\"Site\":\"\xff\"}")
	f.Fuzz(func(t *testing.T, s string) {
		var p PushRequest
		if err := DecodeStrict([]byte(s), &p); err != nil {
			return
		}
		var q PushRequest
		if err := json.Unmarshal([]byte(s), &q); err != nil {
			t.Fatalf("strict accepted what the standard decoder refuses: %v", err)
		}
		a, _ := json.Marshal(p)
		b, _ := json.Marshal(q)
		if string(a) != string(b) || strings.ContainsRune(string(a), '\uFFFD') && !strings.ContainsRune(s, '\uFFFD') {
			t.Fatalf("read differently:\n%s\n%s", a, b)
		}
	})
}

// TestDecodeStrictManyKeys: an object with more keys than the small-object list holds
// still has its duplicates found (through the map), and distinct keys are not taken
// for duplicates when the list turns into the map.
func TestDecodeStrictManyKeys(t *testing.T) {
	t.Parallel()
	dims := func(keys []string) string {
		var b strings.Builder
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%q:\"v\"", k)
		}
		return `{"schema":2,"site":"S","device":"D","snapshots":[{"day":"2026-11-20","metric":"m","dims":{` + b.String() + `},"value":1,"rev":1}]}`
	}
	var keys []string
	for i := range 1000 {
		keys = append(keys, fmt.Sprintf("k%d", i))
	}
	var p PushRequest
	if err := DecodeStrict([]byte(dims(keys)), &p); err != nil || len(p.Snapshots[0].Dims) != 1000 {
		t.Fatalf("1,000 distinct keys: %v (%d read)", err, len(p.Snapshots[0].Dims))
	}
	for _, at := range []int{3, smallObject, smallObject + 1, 999} {
		dup := append(append([]string{}, keys...), keys[at])
		if err := DecodeStrict([]byte(dims(dup)), &p); !errors.Is(err, ErrNotStrictJSON) {
			t.Errorf("key %d given again after 1,000: %v, want ErrNotStrictJSON", at, err)
		}
		early := append([]string{keys[at]}, keys[:smallObject+2]...)
		if at > smallObject+1 {
			continue
		}
		if err := DecodeStrict([]byte(dims(early)), &p); !errors.Is(err, ErrNotStrictJSON) {
			t.Errorf("key %d first and again at %d: %v, want ErrNotStrictJSON", at, at+1, err)
		}
	}
}

// TestStrictnessForTheAgentsAPI: the agent's handlers read with a size for every value
// and its pages' spelling of untagged fields, and stay as strict as a push.
func TestStrictnessForTheAgentsAPI(t *testing.T) {
	t.Parallel()
	type ticket struct {
		Service string `json:"service"`
		Station string
		Dims    map[string]string `json:"dims"`
	}
	st := Strictness{MaxString: 16, LowerFirst: true}
	var v ticket
	if err := st.Decode([]byte(`{"service":"A","station":"k1","dims":{"a":"b"}}`), &v); err != nil || v.Service != "A" || v.Station != "k1" {
		t.Fatalf("good body: %+v %v", v, err)
	}
	for name, tc := range map[string]struct{ body, says string }{
		"duplicate key":      {`{"service":"A","service":"B"}`, `key "service" twice at $`},
		"other case":         {`{"Service":"B"}`, `must be spelled "service"`},
		"untagged, Go name":  {`{"Station":"k1"}`, `must be spelled "station"`},
		"unknown":            {`{"service":"A","colour":"red"}`, `unknown key "colour"`},
		"long value":         {`{"service":"` + strings.Repeat("x", 17) + `"}`, "at $.service: a string of 17 bytes, at most 16"},
		"long map key":       {`{"dims":{"` + strings.Repeat("k", 17) + `":"v"}}`, "a string of 17 bytes"},
		"long nested value":  {`{"dims":{"a":"` + strings.Repeat("v", 40) + `"}}`, "at $.dims.a: a string of 40 bytes"},
		"escapes count, too": {`{"service":"` + strings.Repeat(`\u0041`, 3) + `"}`, "a string of 18 bytes"},
	} {
		err := st.Decode([]byte(tc.body), &ticket{})
		if !errors.Is(err, ErrNotStrictJSON) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want …%s…", name, err, tc.says)
		}
	}
	// DecodeStrict is unchanged: an untagged field is spelled as its Go name, any length.
	if err := DecodeStrict([]byte(`{"Station":"`+strings.Repeat("x", 100)+`"}`), &ticket{}); err != nil {
		t.Fatalf("DecodeStrict: %v", err)
	}
	if err := DecodeStrict([]byte(`{"station":"k1"}`), &ticket{}); !errors.Is(err, ErrNotStrictJSON) {
		t.Fatalf("DecodeStrict took the other case: %v", err)
	}
}

// TestDecodeStrictDeepNesting: a body nested deeper than any JSON reader goes is
// refused before the scanner's calls outgrow their stack (a push of the hub's largest
// decoded size, all '[', would end the hub's process), and at the readers' own limit
// the new reader and the old agree.
func TestDecodeStrictDeepNesting(t *testing.T) {
	t.Parallel()
	err := DecodeStrict([]byte(strings.Repeat("[", MaxDecodedBytes)), new(PushRequest))
	if !errors.Is(err, ErrNotStrictJSON) || !strings.Contains(err.Error(), "nested deeper than 10000") || len(err.Error()) > 100 {
		t.Fatalf("32 MB of '[': %.200v", err)
	}
	for _, depth := range []int{maxNesting - 1, maxNesting, maxNesting + 1} {
		body := `{"snapshots":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`
		err := DecodeStrict([]byte(body), new(PushRequest))
		if err == nil || strings.Contains(err.Error(), "nested deeper") != (depth > maxNesting) {
			t.Errorf("%d levels: %.200v", depth, err)
		}
		decodeAlike[PushRequest](t, Strictness{}, []byte(body))
	}
}
