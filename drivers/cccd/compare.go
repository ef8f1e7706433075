package cccd

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Agreement is the outcome of comparing the QR with the chip, field by field.
type Agreement struct {
	// Compared lists the fields present on both sides; Mismatched those that differ.
	// Field names are English words (id, old_id, name, birth, sex, residence, issued);
	// the values themselves are never included.
	Compared   []string
	Mismatched []string
}

// OK reports whether every compared field agreed and the ID was among them.
func (a Agreement) OK() bool {
	if len(a.Mismatched) > 0 {
		return false
	}
	for _, f := range a.Compared {
		if f == "id" {
			return true
		}
	}
	return false
}

// CompareQR compares a scanned QR with the chip's DG13. Text is compared after
// folding case, composing (NFC) and collapsing whitespace (printing and encoding differ in those, not in
// content); dates are compared as dates. Fields missing on either side are skipped.
func CompareQR(q QR, d DG13) Agreement {
	var a Agreement
	check := func(name string, ok, present bool) {
		if !present {
			return
		}
		a.Compared = append(a.Compared, name)
		if !ok {
			a.Mismatched = append(a.Mismatched, name)
		}
	}
	check("id", q.ID == d.ID, q.ID != "" && d.ID != "")
	check("old_id", q.OldID == d.OldID, q.OldID != "" && d.OldID != "")
	check("name", sameText(q.Name, d.Name), q.Name != "" && d.Name != "")
	if b, err := d.BirthDate(); err == nil {
		check("birth", b == q.Birth, true)
	}
	check("sex", sameText(q.Sex, d.Sex), q.Sex != "" && d.Sex != "")
	check("residence", sameText(q.Residence, d.Residence), q.Residence != "" && d.Residence != "")
	if i, err := d.IssueDate(); err == nil {
		check("issued", i == q.Issued, true)
	}
	return a
}

func sameText(a, b string) bool {
	return foldText(a) == foldText(b)
}

func foldText(s string) string {
	return strings.ToLower(strings.Join(strings.FieldsFunc(norm.NFC.String(s), unicode.IsSpace), " "))
}
