package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"
)

// ErrNotStrictJSON marks a body that encoding/json would accept but that two readers
// could read differently: invalid UTF-8 (silently replaced), a key given twice (the
// last one wins), a field name in another case ("Rev" read as "rev").
var ErrNotStrictJSON = errors.New("JSON not in strict form")

// DecodeStrict decodes exactly one JSON value from data into v (a pointer to a struct
// of this package), refusing unknown fields, data after the value, invalid UTF-8,
// duplicate keys in any object and struct field names not spelled exactly as their
// tag.
func DecodeStrict(data []byte, v any) error {
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: invalid UTF-8", ErrNotStrictJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := checkValue(dec, reflect.TypeOf(v), "$"); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the first value", ErrNotStrictJSON)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// checkValue reads one value from dec, checking object keys against t.
func checkValue(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: at %s: %v", ErrNotStrictJSON, path, err)
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = jsonFields(t)
		} else if t != nil && t.Kind() == reflect.Map {
			elem = t.Elem()
		}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return fmt.Errorf("%w: at %s: %v", ErrNotStrictJSON, path, err)
			}
			key, _ := kt.(string)
			if seen[key] {
				return fmt.Errorf("%w: key %.40q twice at %s", ErrNotStrictJSON, key, path)
			}
			seen[key] = true
			next := elem
			if fields != nil {
				ft, ok := fields[key]
				if !ok {
					for name := range fields {
						if strings.EqualFold(name, key) {
							return fmt.Errorf("%w: key %.40q at %s must be spelled %q", ErrNotStrictJSON, key, path, name)
						}
					}
					return fmt.Errorf("%w: unknown key %.40q at %s", ErrNotStrictJSON, key, path)
				}
				next = ft
			}
			if err := checkValue(dec, next, path+"."+key); err != nil {
				return err
			}
		}
		_, err := dec.Token() // '}'
		return err
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := checkValue(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ']'
		return err
	}
	return nil
}

// jsonFields maps a struct's JSON names to their types (exported fields with a tag
// or their Go name, as encoding/json does; no embedded structs in this package).
func jsonFields(t reflect.Type) map[string]reflect.Type {
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
		}
		out[name] = f.Type
	}
	return out
}
