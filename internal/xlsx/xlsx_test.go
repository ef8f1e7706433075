package xlsx

import (
	"strings"
	"testing"
)

func TestXLSXCellsAndNames(t *testing.T) {
	t.Parallel()
	for i, want := range map[int]string{0: "A", 6: "G", 25: "Z", 26: "AA", 27: "AB", 701: "ZZ", 702: "AAA"} {
		if got := ColName(i); got != want {
			t.Errorf("ColName(%d) = %q, want %q", i, got, want)
		}
	}
	if got := sheetName("a/b[c]:d*e?f\\g and a very long tail of words"); strings.ContainsAny(got, `/[]:*?\`) || len([]rune(got)) > 31 {
		t.Errorf("sheetName = %q", got)
	}
	x := Sheet{Rows: [][]Cell{{Text("=1+1", Normal), Text("a\x00b<&>", Normal), Num(-7, Normal)}}}.xml()
	if !strings.Contains(x, `t="inlineStr"><is><t xml:space="preserve">=1+1</t>`) || strings.Contains(x, "<f>") {
		t.Errorf("a text that looks like a formula is not kept as text: %s", x)
	}
	if !strings.Contains(x, "ab&lt;&amp;&gt;") || !strings.Contains(x, "<v>-7</v>") {
		t.Errorf("escaping or numbers: %s", x)
	}
}
