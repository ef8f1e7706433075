package cccd

import (
	"fmt"
	"strings"
)

// CheckDigit computes the ICAO 9303 check digit of s (weights 7, 3, 1; digits are
// their value, A–Z are 10–35, the filler and anything else 0).
func CheckDigit(s string) byte {
	weights := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		sum += mrzValue(s[i]) * weights[i%3]
	}
	return byte('0' + sum%10)
}

func mrzValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 0
}

func mrzChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c == '<') {
			return false
		}
	}
	return true
}

// MRZLines splits a typed or scanned MRZ into its lines: TD1 (3 × 30) or TD3 (2 × 44).
// Lines may be separated by newlines or given as one run of 90 or 88 characters;
// spaces and CRs are dropped.
func MRZLines(mrz string) ([]string, error) {
	if len(mrz) > 512 {
		return nil, fmt.Errorf("MRZ: too long")
	}
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\r', '\t':
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(mrz)))
	var lines []string
	if strings.Contains(clean, "\n") {
		lines = strings.Split(clean, "\n")
	} else {
		switch len(clean) {
		case 90:
			lines = []string{clean[0:30], clean[30:60], clean[60:90]}
		case 88:
			lines = []string{clean[0:44], clean[44:88]}
		default:
			return nil, fmt.Errorf("MRZ: %d characters, want 90 (TD1) or 88 (TD3)", len(clean))
		}
	}
	switch {
	case len(lines) == 3 && len(lines[0]) == 30 && len(lines[1]) == 30 && len(lines[2]) == 30:
	case len(lines) == 2 && len(lines[0]) == 44 && len(lines[1]) == 44:
	default:
		return nil, fmt.Errorf("MRZ: want 3 lines of 30 (TD1) or 2 lines of 44 (TD3)")
	}
	for _, l := range lines {
		if !mrzChars(l) {
			return nil, fmt.Errorf("MRZ: characters outside A-Z, 0-9 and <")
		}
	}
	return lines, nil
}

// KeyFromMRZ reads the access key out of a full TD1 or TD3 MRZ, checking the check
// digits of the three fields it uses.
func KeyFromMRZ(mrz string) (AccessKey, error) {
	lines, err := MRZLines(mrz)
	if err != nil {
		return AccessKey{}, err
	}
	var doc, docCD, birth, birthCD, exp, expCD string
	if len(lines) == 3 {
		doc, docCD = lines[0][5:14], lines[0][14:15]
		birth, birthCD = lines[1][0:6], lines[1][6:7]
		exp, expCD = lines[1][8:14], lines[1][14:15]
	} else {
		doc, docCD = lines[1][0:9], lines[1][9:10]
		birth, birthCD = lines[1][13:19], lines[1][19:20]
		exp, expCD = lines[1][21:27], lines[1][27:28]
	}
	for _, f := range []struct{ name, v, cd string }{{"document number", doc, docCD}, {"birth date", birth, birthCD}, {"expiry date", exp, expCD}} {
		if f.cd[0] != CheckDigit(f.v) {
			return AccessKey{}, fmt.Errorf("MRZ: %s check digit is wrong", f.name)
		}
	}
	return MRZKey(strings.TrimRight(doc, "<"), birth, exp, "mrz")
}

// IDFromMRZ extracts the 12-digit ID number a CCCD carries in the optional data of
// its TD1 MRZ line 1, and checks it against the document number (its last nine
// digits).
func IDFromMRZ(mrz string) (string, error) {
	lines, err := MRZLines(mrz)
	if err != nil {
		return "", err
	}
	if len(lines) != 3 {
		return "", fmt.Errorf("ID from MRZ: a CCCD has a TD1 (3-line) MRZ")
	}
	doc := lines[0][5:14]
	opt := lines[0][15:30]
	id := opt[:12]
	if !isDigits(id, 12) {
		return "", fmt.Errorf("ID from MRZ: optional data does not start with a 12-digit ID")
	}
	if id[3:] != doc {
		return "", fmt.Errorf("ID from MRZ: the ID's last 9 digits differ from the document number")
	}
	return id, nil
}
