package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// ErrNotStrictJSON marks a body that encoding/json would accept but that two readers
// could read differently: invalid UTF-8 (silently replaced), a key given twice (the
// last one wins), a field name in another case ("Rev" read as "rev").
var ErrNotStrictJSON = errors.New("JSON not in strict form")

// DecodeStrict decodes exactly one JSON value from data into v (a pointer to a struct
// of this package), refusing unknown fields, data after the value, invalid UTF-8,
// duplicate keys in any object and struct field names not spelled exactly as their
// tag.
//
// The strictness is one pass over the bytes (keys only, no values built); then
// github.com/go-json-experiment/json (json v2) builds the values in one more pass, with
// encoding/json's own semantics (its v1 options: nulls, numbers, case, time.Time) and
// unknown members refused. encoding/json's Decoder did that second pass before, and
// scanned the text twice more and allocated more on a push. The token-by-token
// json.Decoder that the scanner replaced cost three times the decode itself.
func DecodeStrict(data []byte, v any) error { return Strictness{}.Decode(data, v) }

// Strictness is DecodeStrict with more refused: the agent's local API reads every
// write through it, so a kiosk, a board or a LAN client is held to the rules a push to
// the hub is, and to a size for each value.
type Strictness struct {
	// MaxString is the longest string value (or map key) in bytes as sent; 0: no limit.
	MaxString int
	// LowerFirst spells the key of a field with no json tag as its Go name with the
	// first letter in lower case ("who" for Who), as the agent's pages write them;
	// DecodeStrict spells it as the Go name itself. Either way one spelling only.
	LowerFirst bool
}

// Decode is DecodeStrict under st's rules.
func (st Strictness) Decode(data []byte, v any) error {
	if err := st.check(data, v); err != nil {
		return err
	}
	return jsonv2.Unmarshal(data, v, secondPass)
}

// secondPass reads what the scanner let through as encoding/json does (a Decoder with
// DisallowUnknownFields). Its v1 options also let invalid UTF-8 and duplicate names
// through, which spares json v2 checking them again: the scanner has refused both.
var secondPass = jsonv2.JoinOptions(jsonv1.DefaultOptionsV1(), jsonv2.RejectUnknownMembers(true))

// check is Decode's first pass: the strict rules only, nothing decoded.
func (st Strictness) check(data []byte, v any) error {
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: invalid UTF-8", ErrNotStrictJSON)
	}
	sc := strictScanner{data: data, maxString: st.MaxString, lowerFirst: st.LowerFirst,
		path: make([][]byte, 0, 8), keys: make([][]byte, 0, 3*smallObject)}
	sc.space()
	if err := sc.value(reflect.TypeOf(v)); err != nil {
		return err
	}
	if sc.space(); sc.pos != len(data) {
		return fmt.Errorf("%w: data after the first value", ErrNotStrictJSON)
	}
	return nil
}

// strictScanner walks JSON text checking object keys. It trusts the second pass, which
// runs after it, to refuse what is not JSON at all: where the text is malformed it
// only has to stop, never to accept something json would read differently.
type strictScanner struct {
	data []byte
	pos  int
	path [][]byte // the keys down to here; joined only for an error
	keys [][]byte // the keys of the objects open down to here (of each, the first smallObject)
	// depth is how many arrays and objects are open here.
	depth int

	maxString  int
	lowerFirst bool
}

func (s *strictScanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *strictScanner) where() string { return "$" + string(bytes.Join(s.path, nil)) }

func (s *strictScanner) fail(what string) error {
	return fmt.Errorf("%w: at %s: %s", ErrNotStrictJSON, s.where(), what)
}

// value checks the value at pos, whose Go type is t (nil where unknown).
func (s *strictScanner) value(t reflect.Type) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s.pos >= len(s.data) {
		return s.fail("unexpected end")
	}
	switch c := s.data[s.pos]; c {
	case '{', '[':
		// Each level is a call here: a body of 32 MB of '[' would outgrow the
		// goroutine's stack and end the process, where both JSON readers stop at
		// maxNesting.
		if s.depth == maxNesting {
			return fmt.Errorf("%w: nested deeper than %d", ErrNotStrictJSON, maxNesting)
		}
		s.depth++
		var err error
		if c == '{' {
			err = s.object(t)
		} else {
			err = s.array(t)
		}
		s.depth--
		return err
	case '"':
		start := s.pos
		if _, err := s.str(); err != nil {
			return err
		}
		if t == timeType && bytes.IndexByte(s.data[start:s.pos], '\\') >= 0 {
			// encoding/json hands time.Time the string as sent, escapes and all, and
			// no time reads with a backslash in it; json v2 would read it unescaped.
			return s.fail("a time written with escapes")
		}
		return s.fitString(s.pos - start - 2)
	}
	// A number or a literal: up to the next delimiter, and in its exact form, so that
	// no second value hides in it ("nulll" is not null and more).
	start := s.pos
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		if c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			break
		}
		if c == '{' || c == '[' || c == '"' || c == ':' {
			return s.fail("malformed value")
		}
		s.pos++
	}
	if s.pos == start {
		return s.fail("missing value")
	}
	switch tok := s.data[start:s.pos]; string(tok) {
	case "null", "true", "false":
		return nil
	default:
		if isNumber(tok) {
			return nil
		}
	}
	return s.fail("malformed value")
}

// isNumber says whether tok is a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func isNumber(tok []byte) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(tok) && '0' <= tok[i] && tok[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(tok) && tok[i] == '-' {
		i++
	}
	if i < len(tok) && tok[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(tok) && tok[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(tok) && (tok[i] == 'e' || tok[i] == 'E') {
		i++
		if i < len(tok) && (tok[i] == '+' || tok[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(tok)
}

// maxNesting is how deep arrays and objects may nest: as deep as encoding/json and
// json v2 read (a push nests five deep).
const maxNesting = 10000

// array checks the array at pos, whose Go type is t (nil where unknown).
func (s *strictScanner) array(t reflect.Type) error {
	s.pos++ // '['
	var elem reflect.Type
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		elem = t.Elem()
	}
	for i := 0; ; i++ {
		s.space()
		if s.pos < len(s.data) && s.data[s.pos] == ']' && i == 0 {
			s.pos++
			return nil
		}
		s.path = append(s.path, elemStep)
		if err := s.value(elem); err != nil {
			return err
		}
		s.path = s.path[:len(s.path)-1]
		if end, err := s.after(']'); end || err != nil {
			return err
		}
	}
}

// object checks one object's keys against t's fields (a struct), or only for
// duplicates (a map or an unknown type).
func (s *strictScanner) object(t reflect.Type) error {
	s.pos++ // '{'
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil && t.Kind() == reflect.Struct {
		fields = jsonFields(t, s.lowerFirst)
	} else if t != nil && t.Kind() == reflect.Map {
		elem = t.Elem()
	}
	// Objects here have a handful of keys, where a list beats a map; a hostile body's
	// object of many thousand keys goes to a map, so the check stays linear. The list
	// is this object's part of s.keys, given back when it ends.
	base := len(s.keys)
	var many map[string]bool
	for i := 0; ; i++ {
		s.space()
		if s.pos >= len(s.data) {
			return s.fail("unexpected end")
		}
		if s.data[s.pos] == '}' && i == 0 {
			s.pos++
			return nil
		}
		if s.data[s.pos] != '"' {
			return s.fail("expected a key")
		}
		keyStart := s.pos
		key, err := s.str()
		if err != nil {
			return err
		}
		if err := s.fitString(s.pos - keyStart - 2); err != nil {
			return err
		}
		if s.seenBefore(key, base, &many) {
			return fmt.Errorf("%w: key %.40q twice at %s", ErrNotStrictJSON, key, s.where())
		}
		next := elem
		if fields != nil {
			ft, ok := fields[string(key)]
			if !ok {
				for name := range fields {
					if strings.EqualFold(name, string(key)) {
						return fmt.Errorf("%w: key %.40q at %s must be spelled %q", ErrNotStrictJSON, key, s.where(), name)
					}
				}
				return fmt.Errorf("%w: unknown key %.40q at %s", ErrNotStrictJSON, key, s.where())
			}
			next = ft
		}
		s.space()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return s.fail("expected :")
		}
		s.pos++
		s.space()
		s.path = append(s.path, keyStep, key)
		if err := s.value(next); err != nil {
			return err
		}
		s.path = s.path[:len(s.path)-2]
		if end, err := s.after('}'); end || err != nil {
			s.keys = s.keys[:base]
			return err
		}
	}
}

// fitString refuses a string of n bytes (as sent) longer than the limit.
func (s *strictScanner) fitString(n int) error {
	if s.maxString > 0 && n > s.maxString {
		return fmt.Errorf("%w: at %s: a string of %d bytes, at most %d", ErrNotStrictJSON, s.where(), n, s.maxString)
	}
	return nil
}

// seenBefore says whether the object whose keys start at s.keys[base] already had
// key, and notes it: in s.keys while the object is small, in many once it is not.
func (s *strictScanner) seenBefore(key []byte, base int, many *map[string]bool) bool {
	if *many == nil {
		seen := s.keys[base:]
		for _, k := range seen {
			if bytes.Equal(k, key) {
				return true
			}
		}
		if len(seen) < smallObject {
			s.keys = append(s.keys, key)
			return false
		}
		*many = make(map[string]bool, 2*smallObject)
		for _, k := range seen {
			(*many)[string(k)] = true
		}
	}
	if (*many)[string(key)] {
		return true
	}
	(*many)[string(key)] = true
	return false
}

// smallObject is how many keys an object may have before its duplicates are found
// through a map.
const smallObject = 16

// after reads what follows a member of an array or object: a comma (more to come) or
// the closing bracket (end).
func (s *strictScanner) after(closing byte) (end bool, err error) {
	s.space()
	if s.pos >= len(s.data) {
		return false, s.fail("unexpected end")
	}
	switch s.data[s.pos] {
	case ',':
		s.pos++
		return false, nil
	case closing:
		s.pos++
		return true, nil
	}
	return false, s.fail("expected , or " + string(closing))
}

// str reads the string at pos and returns it unescaped as encoding/json would read it
// (only keys are compared; a string with escapes is rare and goes through json). It
// aliases data unless escaped.
func (s *strictScanner) str() ([]byte, error) {
	start := s.pos
	s.pos++ // '"'
	escaped := false
	for s.pos < len(s.data) {
		switch c := s.data[s.pos]; {
		case c == '\\':
			escaped = true
			s.pos += 2
			continue
		case c == '"':
			s.pos++
			raw := s.data[start:s.pos]
			if !escaped {
				return raw[1 : len(raw)-1], nil
			}
			var out string
			if err := json.Unmarshal(raw, &out); err != nil {
				return nil, s.fail("malformed string")
			}
			return []byte(out), nil
		case c < 0x20:
			return nil, s.fail("control character in a string")
		}
		s.pos++
	}
	return nil, s.fail("unterminated string")
}

// jsonFields maps a struct's JSON names to their types (exported fields with a tag
// or their Go name, as encoding/json does, with its first letter in lower case when
// lowerFirst; no embedded structs in this package or the agent's requests). Computed
// once per type.
func jsonFields(t reflect.Type, lowerFirst bool) map[string]reflect.Type {
	key := fieldKey{t, lowerFirst}
	if m, ok := fieldCache.Load(key); ok {
		return m.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
			if lowerFirst {
				r, n := utf8.DecodeRuneInString(name)
				name = string(unicode.ToLower(r)) + name[n:]
			}
		}
		out[name] = f.Type
	}
	fieldCache.Store(key, out)
	return out
}

type fieldKey struct {
	t          reflect.Type
	lowerFirst bool
}

var elemStep, keyStep = []byte("[]"), []byte(".")

var timeType = reflect.TypeFor[time.Time]()

var fieldCache sync.Map // fieldKey → map[string]reflect.Type
