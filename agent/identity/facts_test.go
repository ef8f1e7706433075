package identity

import (
	"strings"
	"testing"

	"motcua-agent/drivers/emrtd"
)

func passedChecks() *StatusChecks {
	return &StatusChecks{DataGroups: map[string]string{"DG1": "passed", "DG13": "passed"}, SODSignature: emrtd.CheckPassed,
		Chain: emrtd.ChainTrusted, ActiveAuth: emrtd.CheckAbsent, ChipAuth: emrtd.CheckPassed, QRAgreement: emrtd.CheckPassed}
}

// Every check state becomes a sentence, and every failure says what to do.
func TestFacts(t *testing.T) {
	mod := func(f func(*StatusChecks)) *StatusChecks { c := passedChecks(); f(c); return c }
	for _, c := range []struct {
		name   string
		status Status
		check  string
		state  string
		text   string
		todo   string
	}{
		{"verified chip", Status{Checks: passedChecks(), Method: "PACE-CAN"}, "chip", FactOK, "Chip thật.", ""},
		{"unaltered data", Status{Checks: passedChecks()}, "data", FactOK, "Dữ liệu không bị sửa.", ""},
		{"QR agrees", Status{Checks: passedChecks()}, "qr", FactOK, "Mã QR khớp với chip.", ""},
		{"trusted chain", Status{Checks: passedChecks()}, "chain", FactOK, "Chuỗi chứng thư: tin cậy.", ""},
		{"no anchor", Status{Checks: mod(func(c *StatusChecks) { c.Chain = emrtd.ChainNoAnchor })}, "chain", FactWarn,
			"Chuỗi chứng thư: chưa có gốc tin cậy.", "trust import"},
		{"untrusted chain", Status{Checks: mod(func(c *StatusChecks) { c.Chain = emrtd.ChainUntrusted })}, "chain", FactBad,
			"không tin cậy", "không tiếp nhận"},
		{"tampered DG13", Status{Checks: mod(func(c *StatusChecks) { c.DataGroups["DG13"] = "failed" })}, "data", FactBad,
			"đã bị sửa", "Thẻ có dấu hiệu bị sửa: không tiếp nhận, báo cán bộ phụ trách."},
		{"bad signature", Status{Checks: mod(func(c *StatusChecks) { c.SODSignature = emrtd.CheckFailed })}, "data", FactBad,
			"Chữ ký số", "không tiếp nhận"},
		{"clone", Status{Checks: mod(func(c *StatusChecks) { c.ChipAuth = emrtd.CheckFailed })}, "chip", FactBad,
			"chống sao chép", "báo cán bộ phụ trách"},
		{"no anti-clone", Status{Checks: mod(func(c *StatusChecks) { c.ChipAuth = emrtd.CheckAbsent })}, "chip", FactInfo,
			"không hỗ trợ", ""},
		{"QR mismatch", Status{Checks: mod(func(c *StatusChecks) { c.QRAgreement = emrtd.CheckFailed })}, "qr", FactBad,
			"không khớp", "quét lại mã QR"},
		{"typed keys", Status{KeySource: "typed", Checks: mod(func(c *StatusChecks) { c.QRAgreement = emrtd.CheckSkipped })}, "qr",
			FactInfo, "nhập tay", ""},
		{"wrong typed key", Status{Reason: ReasonAccessDenied, KeySource: "typed"}, "access", FactBad, "Không mở được chip", "Kiểm tra lại số đã nhập"},
		{"wrong QR", Status{Reason: ReasonAccessDenied, KeySource: "qr"}, "access", FactBad, "Không mở được chip", "Quét mã QR trên chính thẻ"},
		{"card lifted", Status{Reason: ReasonCardRemoved}, "read", FactBad, "nhấc ra", "Đặt lại thẻ"},
		{"timeout", Status{Reason: ReasonTimeout}, "read", FactBad, "Không đọc được chip", "Đặt lại thẻ"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.status.State = "done"
			var got *Fact
			for _, f := range Facts(c.status) {
				if f.Check == c.check {
					f := f
					got = &f
				}
			}
			if got == nil {
				t.Fatalf("no %s fact in %+v", c.check, Facts(c.status))
			}
			if got.State != c.state || !strings.Contains(got.Text, c.text) || !strings.Contains(got.Todo, c.todo) {
				t.Fatalf("fact %+v, want state %s text ~%q todo ~%q", *got, c.state, c.text, c.todo)
			}
			if (got.State == FactBad) != (got.Todo != "") && got.State != FactWarn {
				t.Fatalf("a failure without what to do, or advice on a pass: %+v", *got)
			}
		})
	}
	if Facts(Status{State: "reading"}) != nil {
		t.Fatal("facts for a read in progress")
	}
}

// Typing types the configured fields and keys in order and skips empty fields.
func TestStrokes(t *testing.T) {
	p := &Person{ID: "001090012345", Name: "Nguyễn Thị Ánh Tuyết", Birth: "15/03/1990"}
	strokes, holder := Strokes([]string{"id", "tab", "name", "tab", "spouse", "enter", "birth"}, p)
	var b strings.Builder
	for _, s := range strokes {
		if s.Text == "" {
			b.WriteString("<" + string(s.Key) + ">")
		}
		b.WriteString(s.Text)
	}
	if got := b.String(); got != "001090012345<tab>Nguyễn Thị Ánh Tuyết<tab><enter>15/03/1990" || holder != 3 {
		t.Fatalf("strokes %q, %d fields", got, holder)
	}
}
