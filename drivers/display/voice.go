// Package display drives what calls a ticket: a call display or LED board on a serial
// line, a serial call keypad at the counters, and the voice call-out ("Mời công dân có số thứ tự 1023 đến quầy số 3") built from recorded
// one-word clips, with espeak-ng as the fallback for a clip that is missing.
//
// It knows numbers and counters, never queues or citizens: it must never hold personal
// data, and never decide who is called.
package display

//go:generate ./clips.sh

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

//go:embed clips/*.wav
var clipFS embed.FS

// Clips are the recorded voice clips, one word per file (<id>.wav), 16 kHz mono.
var Clips fs.FS = mustSub(clipFS, "clips")

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return s
}

// clipWord maps each clip id to the Vietnamese word it says (the espeak-ng fallback
// speaks the word when a clip is missing).
var clipWord = map[string]string{
	"khong": "không", "mot": "một", "hai": "hai", "ba": "ba", "bon": "bốn", "nam": "năm", "sau": "sáu",
	"bay": "bảy", "tam": "tám", "chin": "chín", "muoi": "mười", "muoi-chuc": "mươi", "mot-dau": "mốt",
	"tu": "tư", "lam": "lăm", "tram": "trăm", "linh": "linh", "nghin": "nghìn",
	"moi": "mời", "so": "số", "den": "đến", "quay": "quầy", "cong-dan": "công dân", "co": "có", "thu-tu": "thứ tự",
}

var digitClip = [10]string{"khong", "mot", "hai", "ba", "bon", "nam", "sau", "bay", "tam", "chin"}

// NumberClips spells n (0..9999) as Vietnamese words, one clip id each: 1023 is "một
// nghìn không trăm hai mươi ba", 105 "một trăm linh năm", 21 "hai mươi mốt", 15 "mười
// lăm", 24 "hai mươi tư".
func NumberClips(n int) ([]string, error) {
	if n < 0 || n > 9999 {
		return nil, fmt.Errorf("number %d out of 0..9999", n)
	}
	if n == 0 {
		return []string{"khong"}, nil
	}
	var out []string
	th, h, rest := n/1000, n/100%10, n%100
	if th > 0 {
		out = append(out, digitClip[th], "nghin")
	}
	if h > 0 || (th > 0 && rest > 0) {
		out = append(out, digitClip[h], "tram")
	}
	tens, unit := rest/10, rest%10
	switch {
	case rest == 0:
	case tens == 0:
		if len(out) > 0 {
			out = append(out, "linh")
		}
		out = append(out, digitClip[unit])
	case tens == 1:
		out = append(out, "muoi")
		if unit == 5 {
			out = append(out, "lam")
		} else if unit > 0 {
			out = append(out, digitClip[unit])
		}
	default:
		out = append(out, digitClip[tens], "muoi-chuc")
		switch unit {
		case 0:
		case 1:
			out = append(out, "mot-dau")
		case 4:
			out = append(out, "tu")
		case 5:
			out = append(out, "lam")
		default:
			out = append(out, digitClip[unit])
		}
	}
	return out, nil
}

// CallClips is the clip sequence of a call-out: the chime, then "mời công dân có số
// thứ tự <number> đến quầy số <counter>" (the office's own words, as the guide and
// the board write them). A counter that is not a number is spelled digit by digit where
// it can be and otherwise left out of the voice.
func CallClips(number int, counter string) ([]string, error) {
	num, err := NumberClips(number)
	if err != nil {
		return nil, err
	}
	out := append([]string{"chime", "moi", "cong-dan", "co", "so", "thu-tu"}, num...)
	if c, err := strconv.Atoi(counter); err == nil {
		cn, err := NumberClips(c)
		if err != nil {
			return nil, err
		}
		out = append(out, "den", "quay", "so")
		out = append(out, cn...)
	}
	return out, nil
}

// Words returns the Vietnamese text of a clip sequence (for captions and logs).
func Words(clips []string) string {
	var w []string
	for _, c := range clips {
		if s, ok := clipWord[c]; ok {
			w = append(w, s)
		}
	}
	return strings.Join(w, " ")
}

var clipIDRe = regexp.MustCompile(`^[a-z-]{1,16}$`)

// Clip returns one clip's WAV bytes: the recorded one, or else espeak-ng speaking its
// word (when espeak-ng is installed).
func Clip(ctx context.Context, id string) ([]byte, error) {
	if !clipIDRe.MatchString(id) {
		return nil, fmt.Errorf("voice clip %q: bad name", id)
	}
	b, err := fs.ReadFile(Clips, id+".wav")
	if err == nil {
		return b, nil
	}
	word, ok := clipWord[id]
	if !ok {
		return nil, fmt.Errorf("voice clip %q: unknown", id)
	}
	return Speak(ctx, word)
}

// ErrNoSpeech means espeak-ng is not installed.
var ErrNoSpeech = errors.New("espeak-ng not found")

// Speak synthesises Vietnamese text to WAV with espeak-ng.
func Speak(ctx context.Context, text string) ([]byte, error) {
	bin, err := exec.LookPath("espeak-ng")
	if err != nil {
		return nil, ErrNoSpeech
	}
	if len(text) > 500 {
		return nil, errors.New("speak: text too long")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-v", "vi", "-s", "140", "--stdout", text)
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("speak: espeak-ng: %w", err)
	}
	return out.Bytes(), nil
}
