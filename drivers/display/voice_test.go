package display

import (
	"context"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"testing"
)

func TestNumberClips(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "không"}, {1, "một"}, {3, "ba"}, {10, "mười"}, {11, "mười một"}, {15, "mười lăm"},
		{20, "hai mươi"}, {21, "hai mươi mốt"}, {24, "hai mươi tư"}, {25, "hai mươi lăm"},
		{105, "một trăm linh năm"}, {110, "một trăm mười"}, {300, "ba trăm"},
		{1000, "một nghìn"}, {1005, "một nghìn không trăm linh năm"},
		{1023, "một nghìn không trăm hai mươi ba"}, {2110, "hai nghìn một trăm mười"},
		{9999, "chín nghìn chín trăm chín mươi chín"},
	}
	for _, tc := range tests {
		c, err := NumberClips(tc.n)
		if err != nil || Words(c) != tc.want {
			t.Errorf("NumberClips(%d) = %q %v, want %q", tc.n, Words(c), err, tc.want)
		}
	}
	if _, err := NumberClips(10000); err == nil {
		t.Error("10000 accepted")
	}
}

func TestCallClipsAllRecorded(t *testing.T) {
	c, err := CallClips(1023, "3")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(c); got != "[chime moi cong-dan co so thu-tu mot nghin khong tram hai muoi-chuc ba den quay so ba]" {
		t.Fatalf("CallClips = %s", got)
	}
	if w := Words(c); w != "mời công dân có số thứ tự một nghìn không trăm hai mươi ba đến quầy số ba" {
		t.Fatalf("words %q", w)
	}
	for id := range clipWord {
		b, err := fs.ReadFile(Clips, id+".wav")
		if err != nil || len(b) < 1000 || string(b[:4]) != "RIFF" {
			t.Errorf("clip %s: %d bytes, %v", id, len(b), err)
		}
	}
	if _, err := Clip(context.Background(), "../etc"); err == nil {
		t.Error("bad clip name accepted")
	}
}

func TestSpeakFallback(t *testing.T) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Skip("espeak-ng not installed")
	}
	b, err := Speak(context.Background(), "quầy số ba")
	if err != nil || !strings.HasPrefix(string(b), "RIFF") {
		t.Fatalf("speak: %d bytes, %v", len(b), err)
	}
}
