package vocab

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		metric string
		kind   Kind
		dims   map[string]string
		err    string
	}{
		{TicketsIssued, Add, map[string]string{DimService: "13"}, ""},
		{GatePeakOccupancy, Max, map[string]string{DimHour: "09"}, ""},
		{IdentityPeople, Unique, nil, ""},
		{"tickets.no_show", Add, nil, "not in the vocabulary"},
		{TicketsIssued, Max, nil, "folds by add"},
		{TicketsIssued, Add, map[string]string{"name": "x"}, `no dimension "name"`},
	} {
		err := Check(tc.metric, tc.kind, tc.dims)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("Check(%s, %s, %v) = %v, want %q", tc.metric, tc.kind, tc.dims, err, tc.err)
		}
	}
}

func TestCatalogue(t *testing.T) {
	t.Parallel()
	if len(EssentialServices) != 25 {
		t.Fatalf("%d essential services, want 25", len(EssentialServices))
	}
	for i, s := range EssentialServices {
		if s.No != i+1 || s.Name == "" {
			t.Errorf("service %d: %+v", i+1, s)
		}
	}
}
