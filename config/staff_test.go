package config

import (
	"strings"
	"testing"
)

// The staff list and the ratings: every mistake a technician may make is named by its
// path, and an ID number or PIN written where its hash belongs is refused.
func TestStaffAndRatingProblems(t *testing.T) {
	t.Parallel()
	site := "site: {province_code: \"01\", commune_code: \"00004\", id: s, name: \"UBND\", device_id: pc}\n"
	hash := strings.Repeat("ab", 32)
	queue := `queue: {enabled: true, services: [{code: A, name: a, first: 1, last: 9}], counters: [{id: "1", services: [A]}], rating: %s}` + "\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"ok", strings.Replace(queue, "%s", "{enabled: true, levels: 3}", 1) +
			`staff: {officers: [{id: nv01, name: "Nguyễn Thị Lan", pin_hash: "` + hash + `"}]}`, ""},
		{"an ID number for a hash", `staff: {officers: [{id: nv01, name: Lan, id_hash: "001099012345"}]}`,
			"staff.officers[0].id_hash: must be the 64 hex digits"},
		{"no way in", `staff: {officers: [{id: nv01, name: Lan}]}`, "staff.officers[0]: give pin_hash or id_hash"},
		{"an id with capitals", `staff: {officers: [{id: NV01, name: Lan, pin_hash: "` + hash + `"}]}`, "staff.officers[0].id: must be"},
		{"one PIN for two", `staff: {officers: [{id: a, name: A, pin_hash: "` + hash + `"}, {id: b, name: B, pin_hash: "` + hash + `"}]}`,
			"staff.officers[1].pin_hash: the same hash as staff.officers[0].pin_hash"},
		{"pushing officers' figures", `staff: {push_figures: true}`, "staff.push_figures: per-officer figures stay on this PC"},
		{"levels", strings.Replace(queue, "%s", "{enabled: true, levels: 7}", 1), "queue.rating.levels: must be 3, 4 or 5"},
		{"window", strings.Replace(queue, "%s", "{enabled: true, window_minutes: 2000}", 1), "queue.rating.window_minutes: must be between 1 and 1440"},
		{"reason twice", strings.Replace(queue, "%s", `{enabled: true, reasons: ["Chờ lâu", "Chờ lâu"]}`, 1), `queue.rating.reasons[1]: "Chờ lâu" is listed twice`},
		{"a rating tablet with personal data", `http: {personal_data_roles: [rating]}`, `http.personal_data_roles[0]: role "rating" may not receive personal data`},
		{"a short rating token", `http: {tokens: {rating: short}}`, "http.tokens.rating: too short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(site+tc.yaml+"\n"), "/etc/motcua-agent/site.yaml", Overrides{DataDir: t.TempDir()})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected problems: %v", err)
				}
				if c.Staff.KeyFile != "/etc/motcua-agent/staff.key" || c.Queue.Rating.WindowMinutes != 10 || len(c.Queue.Rating.Reasons) == 0 ||
					c.Queue.Rating.PromptSeconds != 30 {
					t.Fatalf("defaults: %+v %+v", c.Staff, c.Queue.Rating)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "001099012345") {
				t.Fatalf("the problem repeats the number: %v", err)
			}
		})
	}
	if got := RatingLevels(4); len(got) != 4 || got[0] != 1 || got[3] != 5 {
		t.Errorf("four levels: %v", got)
	}
}
