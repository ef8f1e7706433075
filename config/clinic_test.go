package config

import (
	"strings"
	"testing"
	"time"
)

func TestClinicDefaults(t *testing.T) {
	c, p := parse(t, minimal+"data_dir: /var/lib/motcua\nclinic:\n  enabled: true\n  accounts_file: tai-khoan.yaml\n  stations: [{id: tiep-don-1, operator: dd-lan}]\n")
	if p != nil {
		t.Fatal(p)
	}
	k := c.Clinic
	if k.Gateway != ProductionBHYTGateway || k.Timeout != 30*time.Second || k.RetryMin != 10*time.Second ||
		k.RetryMax != 5*time.Minute || k.RetryFor != 2*time.Hour || k.RepeatWindow != 2*time.Minute || k.MaxPending != 300 ||
		k.OtherAgencySuccess {
		t.Fatalf("defaults %+v", k)
	}
	if k.AccountsFile != "/etc/motcua/tai-khoan.yaml" {
		t.Fatalf("accounts file %q is not read against the config's folder", k.AccountsFile)
	}
	if s, ok := k.Station("tiep-don-1"); !ok || s.Title != "Bàn tiếp đón tiep-don-1" {
		t.Fatalf("station %+v", s)
	}
	c, _ = parse(t, minimal+"data_dir: /var/lib/motcua\n")
	if c.Clinic.AccountsFile != "/var/lib/motcua/secret/bhyt-accounts.yaml" || c.Clinic.Enabled {
		t.Fatalf("accounts file default %q", c.Clinic.AccountsFile)
	}
}

func TestClinicProblems(t *testing.T) {
	_, p := parse(t, minimal+`clinic:
  enabled: true
  gateway: egw.baohiemxahoi.gov.vn
  timeout: 5m
  retry_min: 1m
  retry_max: 30s
  retry_for: 48h
  max_pending: -1
  stations:
    - {id: a, operator: "dd lan"}
    - {id: a}
    - {id: ""}
`)
	if p == nil {
		t.Fatal("bad clinic section accepted")
	}
	for _, want := range []string{"clinic.gateway", "clinic.timeout", "clinic.retry_max", "clinic.retry_for", "clinic.max_pending", "clinic.stations[0].operator",
		"clinic.stations[1].id: \"a\" is used twice", "clinic.stations[2].id"} {
		if !strings.Contains(p.Error(), want) {
			t.Errorf("problems do not name %s:\n%s", want, p)
		}
	}
	if _, p := parse(t, minimal+"clinic: {enabled: true}\n"); p == nil || !strings.Contains(p.Error(), "clinic.stations: required") {
		t.Fatalf("enabled without stations: %v", p)
	}
}
