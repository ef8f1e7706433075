package cli

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua-agent/drivers/ptypair"
	"motcua-agent/drivers/scanner"
)

func TestQRParseCommand(t *testing.T) {
	out, code := runBin(t, "qr", "parse", "001099012345|123456789|Nguyễn Văn Bình|15031990|Nam|Hà Nội|20042021|Trần Văn Cả", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var v scanView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if v.Kind != "cccd-2024" || v.Fields["name"] != "Nguyễn Văn Bình" || v.Fields["extra_1"] != "Trần Văn Cả" || v.Fields["birth"] != "1990-03-15" {
		t.Fatalf("%+v", v)
	}
	if out, code := runBin(t, "qr", "parse", "Nguy\xd2n"); code != 1 || !strings.Contains(out, "code page") {
		t.Fatalf("wrong code page: %d %s", code, out)
	}
	if out, code := runBin(t, "qr", "parse", "HS:7:2024000123", "--receipt-pattern", `^HS:(?P<service>[0-9]+):(?P<code>[0-9]+)$`); code != 0 ||
		!strings.Contains(out, "2024000123") || !strings.Contains(out, "dossier") {
		t.Fatalf("province pattern: %d %s", code, out)
	}
}

func TestQRDecodeCommand(t *testing.T) {
	if _, err := exec.LookPath("qrencode"); err != nil {
		t.Skip("qrencode not installed")
	}
	dir := t.TempDir()
	img := filepath.Join(dir, "receipt.png")
	if out, err := exec.Command("qrencode", "-o", img, "H40.22-230701-0001|13").CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	out, code := runBin(t, "qr", "decode", img, filepath.Join(dir, "missing.png"))
	if code != 1 || !strings.Contains(out, "[dossier] H40.22-230701-0001|13") || !strings.Contains(out, "missing.png: open image") {
		t.Fatalf("exit %d: %s", code, out)
	}
}

// TestScanListenCommand runs `scan listen` on a pty and checks it prints a scan with
// personal fields masked.
func TestScanListenCommand(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	pair := ptypair.New(t.TempDir(), "cli")
	if err := pair.Start(); err != nil {
		t.Fatal(err)
	}
	defer pair.Stop()
	sim, err := scanner.OpenSimulator(pair)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	cmd := exec.Command(agentBin, "scan", "listen", "--port", pair.Device, "--json")
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// Wait until the port is open before scanning.
	errs := bufio.NewScanner(stderr)
	deadline := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
	for errs.Scan() && !strings.Contains(errs.Text(), "scanner ok") {
	}
	deadline.Stop()
	sim.Scan("001099012345|123456789|Nguyễn Văn Bình|15031990|Nam|Hà Nội|20042021", []byte("\r"))
	lines := bufio.NewScanner(stdout)
	timer := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	if !lines.Scan() {
		t.Fatal("no output")
	}
	var v scanView
	if err := json.Unmarshal(lines.Bytes(), &v); err != nil {
		t.Fatalf("%v: %s", err, lines.Text())
	}
	if v.Kind != "cccd-2021" || v.Fields["id"] != "0**********5" || strings.Contains(lines.Text(), "Bình") || v.Payload != "" {
		t.Fatalf("%s", lines.Text())
	}
}
