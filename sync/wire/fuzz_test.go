package wire

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"testing"
	"unicode/utf8"
)

// FuzzParseSignedHeaders: header values come from anyone on the network.
func FuzzParseSignedHeaders(f *testing.F) {
	f.Add("pc1", "1795000000", "00112233445566778899aabbccddeeff", "ab")
	f.Add("", "-1", "zz", "")
	f.Fuzz(func(t *testing.T, device, ts, nonce, sig string) {
		h := http.Header{}
		h.Set(HeaderDevice, device)
		h.Set(HeaderTime, ts)
		h.Set(HeaderNonce, nonce)
		h.Set(HeaderSignature, sig)
		s, err := ParseSignedHeaders(h)
		if err != nil {
			return
		}
		if !ValidName(s.Device) || len(s.Signature) != 32 || len(s.Nonce) != 32 {
			t.Fatalf("accepted malformed headers %+v", s)
		}
		_ = s.Verify([]byte("0123456789abcdef"), "POST", PushPath, nil)
	})
}

// FuzzStrictScanMatchesTokenWalk: push bodies come from anyone who can reach the hub. The one-pass
// scanner must accept exactly what a token-by-token walk of encoding/json's own
// tokenizer accepts (the checker it replaced, kept here as the oracle).
func FuzzStrictScanMatchesTokenWalk(f *testing.F) {
	f.Add([]byte(`{"schema":2,"site":"S","device":"D","snapshots":[{"day":"2026-11-20","metric":"m","dims":{"a":"1"},"value":1,"rev":1}]}`))
	f.Add([]byte(`{"schema":2,"site":"S","site":"T"}`))
	f.Add([]byte(`{"schema":2,"Site":"S"}`))
	f.Add([]byte(`{"schema":2,"s\u0069te":"S","site":"T"}`))
	f.Add([]byte(`{"snapshots":[{"dims":{"a":"1","a":"2"}}]} `))
	f.Add([]byte(`{"heartbeat":{"devices":[{"name":"x","state":"ok"}],"clock":"2026-11-20T01:00:00Z"}} {}`))
	f.Add([]byte(`[1, {"a": tru}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got, want PushRequest
		errGot := DecodeStrict(data, &got)
		errWant := tokenWalkDecode(data, &want)
		if (errGot == nil) != (errWant == nil) {
			t.Fatalf("scanner says %v, token walk says %v, for %q", errGot, errWant, data)
		}
		if errGot == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded differently: %+v vs %+v", got, want)
		}
	})
}

// tokenWalkDecode is the strict decoding done with json.Decoder.Token: slow, and
// plainly right.
func tokenWalkDecode(data []byte, v any) error {
	if !utf8.Valid(data) {
		return ErrNotStrictJSON
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := tokenWalk(dec, reflect.TypeOf(v)); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return ErrNotStrictJSON
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

func tokenWalk(dec *json.Decoder, t reflect.Type) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			if seen[key] {
				return ErrNotStrictJSON
			}
			seen[key] = true
			var next reflect.Type
			if t != nil && t.Kind() == reflect.Struct {
				ft, ok := jsonFields(t, false)[key]
				if !ok {
					return ErrNotStrictJSON
				}
				next = ft
			} else if t != nil && t.Kind() == reflect.Map {
				next = t.Elem()
			}
			if err := tokenWalk(dec, next); err != nil {
				return err
			}
		}
		_, err := dec.Token()
		return err
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := tokenWalk(dec, elem); err != nil {
				return err
			}
		}
		_, err := dec.Token()
		return err
	}
	return nil
}

// agentRequest has the shapes of the agent's write bodies: tagged and untagged fields
// and a nested object.
type agentRequest struct {
	Service string `json:"service"`
	Counter string `json:"counter"`
	Pages   int    `json:"pages"`
	Who     string
	Inner   struct {
		Station string `json:"station"`
	} `json:"inner"`
}

// FuzzStrictnessForAgentBodies: the agent's bodies come from anyone on the office LAN.
// Strictness decodes what DecodeStrict decodes, once the pages' spelling of an untagged
// key is given back its Go name; a size limit only ever refuses more, and what it
// accepts holds no longer string.
func FuzzStrictnessForAgentBodies(f *testing.F) {
	f.Add([]byte(`{"service":"A","counter":"2","pages":3,"who":"x","inner":{"station":"k1"}}`))
	f.Add([]byte(`{"service":"A","service":"B"}`))
	f.Add([]byte(`{"Who":"x"}`))
	f.Add([]byte(`{"counter":"\u0041\u0042"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 8
		var lax, sized agentRequest
		errLax := Strictness{LowerFirst: true}.Decode(data, &lax)
		errSized := Strictness{LowerFirst: true, MaxString: limit}.Decode(data, &sized)
		if errSized == nil && errLax != nil {
			t.Fatalf("the size limit accepted what the reader without it refused (%v): %q", errLax, data)
		}
		if errSized == nil {
			for _, s := range []string{sized.Service, sized.Counter, sized.Who, sized.Inner.Station} {
				if len(s) > limit {
					t.Fatalf("accepted a %d-byte string under a %d-byte limit: %q", len(s), limit, data)
				}
			}
		}
		var strict agentRequest
		goName := bytes.ReplaceAll(data, []byte(`"who"`), []byte(`"Who"`))
		if bytes.Contains(data, []byte(`"Who"`)) || bytes.Contains(data, []byte(`\`)) ||
			bytes.Count(data, []byte(`"who"`)) != len(whoKey.FindAll(data, -1)) {
			return // the rename above would not be the only difference
		}
		errStrict := DecodeStrict(goName, &strict)
		if (errStrict == nil) != (errLax == nil) {
			t.Fatalf("DecodeStrict says %v, Strictness says %v, for %q", errStrict, errLax, data)
		}
		if errLax == nil && !reflect.DeepEqual(lax, strict) {
			t.Fatalf("decoded differently: %+v vs %+v", lax, strict)
		}
	})
}

var whoKey = regexp.MustCompile(`"who"[ \t\r\n]*:`)
