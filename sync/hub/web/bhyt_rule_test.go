package web

import (
	"strings"
	"testing"
)

// The rule in words, for each mix of sites' choices.
func TestBHYTRuleInWords(t *testing.T) {
	for _, c := range []struct {
		other, counted int64
		want           string
	}{
		{0, 0, "không có lượt nào ra mã 001, 002"},
		{4, 0, "mã 001, 002 (thẻ do BHXH Bộ Quốc phòng, Bộ Công an quản lý) không được tính là thành công"},
		{4, 4, "và cả mã 001, 002"},
		{1500, 1200, "1.200 lượt mã 001, 002 được tính là thành công, 300 lượt không"},
	} {
		if got := bhytRule(c.other, c.counted); !strings.Contains(got, c.want) {
			t.Errorf("bhytRule(%d, %d) = %q, want …%s…", c.other, c.counted, got, c.want)
		}
	}
}
