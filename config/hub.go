package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// A configuration the provincial hub publishes is a layer: YAML with some or all of the
// site file's top-level sections. It is laid over the PC's own file (the technician's),
// never written into it, by one rule (Helm's values rule): mappings merge key by key,
// recursively; a list or a scalar replaces what it meets whole; a null removes the
// key. The hub composes its layers the same way, province-wide first, then the
// commune's, then the site's, so the most specific one wins where they meet.

// MaxLayerBytes bounds a published layer (the hub refuses larger, the agent fetches no
// more).
const MaxLayerBytes = 256 << 10

// layerForbidden are the settings a layer may not carry: they are this PC's own
// (its identity upstream, its secrets, where its record lives), never a site's or a
// province's.
var layerForbidden = []string{
	"site.id", "site.device_id", "site.province_code", "site.commune_code",
	"data_dir", "sync.secret", "sync.secret_file", "privacy.secret_file",
}

// CheckLayer checks a layer's shape: a YAML mapping of the site file's top-level
// sections, no larger than MaxLayerBytes, without anchors, aliases or merge keys (one
// reading only), and without any of this PC's own settings. It returns the sections,
// sorted.
func CheckLayer(layer []byte) ([]string, error) {
	if len(layer) > MaxLayerBytes {
		return nil, fmt.Errorf("layer is %d bytes, more than %d", len(layer), MaxLayerBytes)
	}
	root, err := decodeLayer(layer, true)
	if err != nil {
		return nil, err
	}
	if root == nil || len(root.Content) == 0 {
		return nil, errors.New("layer is empty: give at least one section (services, queue, sync, …)")
	}
	known := topLevelKeys()
	var sections []string
	for i := 0; i < len(root.Content); i += 2 {
		k := root.Content[i].Value
		if !known[k] {
			return nil, fmt.Errorf("unknown section %q (the site file's sections: %s)", k, strings.Join(sortedKeys(known), ", "))
		}
		sections = append(sections, k)
	}
	for _, f := range layerForbidden {
		if layerHas(root, strings.Split(f, ".")) {
			return nil, fmt.Errorf("%s is this PC's own setting: a published configuration may not set it", f)
		}
	}
	sort.Strings(sections)
	return sections, nil
}

// decodeLayer reads a layer's mapping (nil for an empty document); plain refuses
// anchors, aliases and merge keys (a site file may use them, a layer may not).
func decodeLayer(text []byte, plain bool) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(text)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, errors.New("must be a YAML mapping of sections (services:, queue:, sync:, …)")
	}
	if plain {
		if err := plainNodes(root); err != nil {
			return nil, err
		}
	}
	return root, nil
}

// plainNodes refuses anchors, aliases and merge keys: a layer reads one way only, and
// cannot grow by aliasing.
func plainNodes(n *yaml.Node) error {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return fmt.Errorf("line %d: anchors and aliases are not allowed in a published configuration", n.Line)
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			if n.Content[i].Tag == "!!merge" {
				return fmt.Errorf("line %d: merge keys (<<) are not allowed in a published configuration", n.Content[i].Line)
			}
		}
	}
	for _, c := range n.Content {
		if err := plainNodes(c); err != nil {
			return err
		}
	}
	return nil
}

func layerHas(m *yaml.Node, path []string) bool {
	if m == nil || m.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i < len(m.Content); i += 2 {
		if m.Content[i].Value == path[0] {
			if len(path) == 1 {
				return true
			}
			return layerHas(m.Content[i+1], path[1:])
		}
	}
	return false
}

func topLevelKeys() map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeOf(Config{})
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ComposeLayers lays the layers over one another, first to last (province-wide,
// commune, site), into one layer. A null in a later layer stays a null, so it still
// removes the key from the PC's own file.
func ComposeLayers(layers ...[]byte) ([]byte, error) {
	return mergeTexts(layers, true, true)
}

// MergeLayer lays a layer over a site file's text and returns the merged text (the
// file's comments kept where the layer does not replace them). A null in the layer
// removes the key.
func MergeLayer(local, layer []byte) ([]byte, error) {
	return mergeTexts([][]byte{local, layer}, false, false)
}

// mergeTexts lays each text over the ones before it; plainFirst holds the first to a
// layer's rules too (when it is a layer, not the site file).
func mergeTexts(texts [][]byte, keepNulls, plainFirst bool) ([]byte, error) {
	var out *yaml.Node
	for i, t := range texts {
		n, err := decodeLayer(t, i > 0 || plainFirst)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i+1, err)
		}
		if n == nil {
			continue
		}
		if out == nil {
			out = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		mergeMapping(out, n, keepNulls)
	}
	if out == nil {
		return []byte{}, nil
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("render merged configuration: %w", err)
	}
	enc.Close()
	return b.Bytes(), nil
}

// mergeMapping lays src's keys over dst's.
func mergeMapping(dst, src *yaml.Node, keepNulls bool) {
	for i := 0; i < len(src.Content); i += 2 {
		k, v := src.Content[i], src.Content[i+1]
		at := -1
		for j := 0; j < len(dst.Content); j += 2 {
			if dst.Content[j].Value == k.Value {
				at = j
				break
			}
		}
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null" && !keepNulls:
			if at >= 0 {
				dst.Content = append(dst.Content[:at], dst.Content[at+2:]...)
			}
		case at >= 0 && v.Kind == yaml.MappingNode && dst.Content[at+1].Kind == yaml.MappingNode:
			mergeMapping(dst.Content[at+1], v, keepNulls)
		case at >= 0:
			dst.Content[at+1] = v
		default:
			if v.Kind == yaml.MappingNode && !keepNulls {
				// A new section: its own nulls remove nothing and are dropped.
				fresh := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				mergeMapping(fresh, v, false)
				v = fresh
			}
			dst.Content = append(dst.Content, k, v)
		}
	}
}

// ParseLayered is how every reader of a site file sees it once the hub's layer
// applies: the file's text with the layer laid over it, then exactly Parse (the same
// defaults and checks as `motcua-agent config check`). version names the layer
// ("" with no layer).
func ParseLayered(local []byte, path string, layer []byte, version string, ov Overrides) (*Config, error) {
	text := local
	if len(layer) > 0 {
		if _, err := CheckLayer(layer); err != nil {
			return nil, &Problems{List: []Problem{{Path: "(hub configuration)", Msg: err.Error()}}}
		}
		merged, err := MergeLayer(local, layer)
		if err != nil {
			return nil, &Problems{List: []Problem{{Path: "(hub configuration)", Msg: err.Error()}}}
		}
		text = merged
	}
	c, err := Parse(text, path, ov)
	if err != nil {
		return nil, err
	}
	c.hubVersion = version
	return c, nil
}

// HubVersion is the version of the hub's configuration laid over the site file, ""
// when the file runs alone.
func (c *Config) HubVersion() string { return c.hubVersion }

// Digest is the hex SHA-256 of a configuration's bytes.
func Digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
