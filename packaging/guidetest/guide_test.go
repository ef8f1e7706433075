package guidetest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// block is one code block of the guide: a yaml config fragment, or shell commands
// (continuation lines joined, comment lines left out).
type block struct {
	line     int // the block's first line in the guide
	yaml     bool
	text     string   // a yaml block's text
	commands []string // a command block's commands
	skips    []skip   // the markers written just before it
}

// skip is one "guidetest: skip" marker: the commands of the next block starting with
// one of its prefixes (all of them for "*") are not run here, for the reason given.
type skip struct {
	why      string
	prefixes []string // nil: every command
}

var (
	markerRE = regexp.MustCompile(`^<!-- guidetest: skip (.+?): (.+) -->$`)
	quotedRE = regexp.MustCompile(`"([^"]+)"`)
)

// skipped returns why a command is not run here, or "".
func (b block) skipped(cmd string) string {
	for _, s := range b.skips {
		if s.prefixes == nil {
			return s.why
		}
		for _, p := range s.prefixes {
			if strings.HasPrefix(cmd, p) {
				return s.why
			}
		}
	}
	return ""
}

// parseGuide reads the guide's code blocks: fenced (```) blocks and blocks indented by
// four spaces after a blank line, each with the markers written since the block before.
func parseGuide(text string) ([]block, error) {
	var out []block
	var pending []skip
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "<!-- guidetest:") {
			m := markerRE.FindStringSubmatch(l)
			if m == nil {
				return nil, fmt.Errorf("line %d: a guidetest marker not of the form <!-- guidetest: skip WHY: \"PREFIX\"… or * -->: %s", i+1, l)
			}
			s := skip{why: m[1]}
			if strings.TrimSpace(m[2]) != "*" {
				for _, q := range quotedRE.FindAllStringSubmatch(m[2], -1) {
					s.prefixes = append(s.prefixes, q[1])
				}
				if s.prefixes == nil {
					return nil, fmt.Errorf("line %d: a skip marker names no command: %s", i+1, l)
				}
			}
			pending = append(pending, s)
			continue
		}
		if fence, ok := strings.CutPrefix(l, "```"); ok {
			b := block{line: i + 1, yaml: fence == "yaml", skips: pending}
			var body []string
			for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
				body = append(body, lines[i])
			}
			if b.yaml {
				b.text = strings.Join(body, "\n") + "\n"
			} else {
				b.commands = commands(body)
			}
			out, pending = append(out, b), nil
			continue
		}
		if strings.HasPrefix(l, "    ") && i > 0 && strings.TrimSpace(lines[i-1]) == "" {
			b := block{line: i + 1, skips: pending}
			var body []string
			for ; i < len(lines) && (strings.HasPrefix(lines[i], "    ") || strings.TrimSpace(lines[i]) == "" && i+1 < len(lines) && strings.HasPrefix(lines[i+1], "    ")); i++ {
				body = append(body, strings.TrimPrefix(lines[i], "    "))
			}
			i--
			b.commands = commands(body)
			out, pending = append(out, b), nil
			continue
		}
		if pending != nil && strings.TrimSpace(l) != "" {
			return nil, fmt.Errorf("line %d: a guidetest marker is followed by text, not by a code block", i+1)
		}
	}
	if pending != nil {
		return nil, fmt.Errorf("a guidetest marker at the end, with no block after it")
	}
	return out, nil
}

// commands joins a shell block's continuation lines and drops blank and comment lines.
func commands(body []string) []string {
	var out []string
	cur := ""
	for _, l := range body {
		l = strings.TrimRight(l, " ")
		if cur == "" && (strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#")) {
			continue
		}
		if strings.HasSuffix(l, `\`) && !strings.HasSuffix(l, `\\`) {
			cur += strings.TrimSuffix(l, `\`)
			continue
		}
		out = append(out, strings.Join(strings.Fields(cur+l), " "))
		cur = ""
	}
	return out
}

func readGuide(t *testing.T) []block {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "HUONG-DAN-CAI-DAT.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseGuide(string(b))
	if err != nil {
		t.Fatalf("HUONG-DAN-CAI-DAT.md: %v", err)
	}
	return blocks
}

// The parser on a small guide: both kinds of block, continuations, comments, markers.
func TestParseGuide(t *testing.T) {
	g := "Chạy:\n\n<!-- guidetest: skip systemd: \"sudo systemctl\" -->\n\n    sudo cat /x   # ghi chú\n    sudo motcua-hub enroll --site A \\\n        --device b\n    sudo systemctl restart x\n\n" +
		"Tệp:\n\n```yaml\nhttp:\n  listen: 1\n```\n\n<!-- guidetest: skip Windows: * -->\n\n    a.exe /S\n"
	blocks, err := parseGuide(g)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 3 {
		t.Fatalf("%d blocks: %+v", len(blocks), blocks)
	}
	want := []string{"sudo cat /x # ghi chú", "sudo motcua-hub enroll --site A --device b", "sudo systemctl restart x"}
	if strings.Join(blocks[0].commands, "|") != strings.Join(want, "|") {
		t.Errorf("commands %q, want %q", blocks[0].commands, want)
	}
	if blocks[0].skipped(want[1]) != "" || blocks[0].skipped(want[2]) != "systemd" {
		t.Errorf("skips: %+v", blocks[0].skips)
	}
	if !blocks[1].yaml || blocks[1].text != "http:\n  listen: 1\n" {
		t.Errorf("yaml block %+v", blocks[1])
	}
	if blocks[2].skipped("a.exe /S") != "Windows" {
		t.Errorf("whole-block skip: %+v", blocks[2])
	}
	for _, bad := range []string{"<!-- guidetest: skip why -->\n\n    x\n", "<!-- guidetest: skip why: x -->\n\n    x\n", "<!-- guidetest: skip w: * -->\ntext\n\n    x\n"} {
		if _, err := parseGuide(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
