package config

import (
	"fmt"
	"net"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong in a config file, at a field path.
type Problem struct {
	Path string
	Msg  string
}

// Problems is every problem found in one config; it is the error Load returns.
type Problems struct{ List []Problem }

// Add records a problem at path.
func (p *Problems) Add(path, format string, args ...any) {
	p.List = append(p.List, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (p *Problems) Error() string {
	lines := make([]string, len(p.List))
	for i, q := range p.List {
		lines[i] = q.Path + ": " + q.Msg
	}
	return strings.Join(lines, "\n")
}

// checkNode walks the YAML tree against the Go type, so unknown keys and values of the
// wrong type are reported with their paths, all at once, before decoding.
func checkNode(p *Problems, n *yaml.Node, target any, path string) {
	checkValue(p, n, reflect.TypeOf(target), path)
}

func checkValue(p *Problems, n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) > 0 {
			checkValue(p, n.Content[0], t, path)
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Tag == "!!null" {
		return
	}
	here := path
	if here == "" {
		here = "(top)"
	}
	switch t.Kind() {
	case reflect.Struct:
		if t.String() == "time.Duration" {
			break
		}
		if n.Kind != yaml.MappingNode {
			p.Add(here, "must be a mapping of keys to values")
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			f, ok := fields[key]
			if !ok {
				p.Add(join(path, key), "unknown key (check the spelling; see config/examples)")
				continue
			}
			checkValue(p, n.Content[i+1], f.Type, join(path, key))
		}
		return
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			break
		}
		if n.Kind != yaml.SequenceNode {
			p.Add(here, "must be a list")
			return
		}
		for i, c := range n.Content {
			checkValue(p, c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
		return
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			p.Add(here, "must be a mapping")
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkValue(p, n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))
		}
		return
	}
	// A scalar: decode it alone to learn whether it fits.
	if n.Kind != yaml.ScalarNode {
		p.Add(here, "must be a single value")
		return
	}
	v := reflect.New(t)
	if err := n.Decode(v.Interface()); err != nil {
		p.Add(here, "%s", scalarError(t, n.Value))
	}
}

func scalarError(t reflect.Type, value string) string {
	switch {
	case t.String() == "time.Duration":
		return fmt.Sprintf("not a duration: %q (write e.g. 500ms, 30s, 5m)", value)
	case t.Kind() == reflect.Bool:
		return fmt.Sprintf("must be true or false, not %q", value)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64:
		return fmt.Sprintf("must be a number, not %q", value)
	}
	return fmt.Sprintf("cannot use %q here", value)
}

func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("must be host:port, e.g. 127.0.0.1:8606 (%v)", err)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return fmt.Errorf("host must be an IP address or localhost, not %q", host)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port must be 0-65535, not %q", port)
	}
	return nil
}
