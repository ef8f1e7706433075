package cccd

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxQRPayload caps what ParseQR accepts; the card's QR holds a few hundred bytes.
const MaxQRPayload = 4096

// QR form names, also used as the scan "kind" on the bus.
const (
	FormCCCD2021 = "cccd-2021" // the seven-field QR of the CCCD (Circular 06/2021)
	FormCCCD2024 = "cccd-2024" // the 2024 card's QR (Circular 16/2024): issued from 1 July 2024, the same seven fields first, maybe more after
)

// ErrNotCardQR reports a payload that is not the ID card's QR at all (too few fields
// or no 12-digit ID first): the caller may treat it as something else, such as a
// VNeID code.
var ErrNotCardQR = errors.New("not an ID card QR")

// QR is the content of the QR printed on the chip ID card.
type QR struct {
	Form      string // FormCCCD2021 or FormCCCD2024
	ID        string // 12-digit personal identification number
	OldID     string // 9-digit CMND number, empty when none
	Name      string
	Birth     Date
	Sex       string // "Nam" or "Nữ" as printed
	Residence string
	Issued    Date
	// Extra holds the fields after the seventh (the 2024 card may carry the parents'
	// names, a cancelled ID number and more; their order is not established), without
	// trailing empty ones.
	Extra []string
}

// ParseQR parses the payload of the ID card's QR as the field produces it: the 2021
// seven-field form, the 2024 card's form with more fields, and the variants phones,
// apps and older scanners emit (dates written dd/mm/yyyy, a six-field form without the
// old CMND field, trailing separators, a UTF-8 byte-order mark, decomposed (NFD)
// Vietnamese text, returned here in NFC). It is strict about the ID number and the
// dates, which open the chip, and tolerant about everything else: extra fields are
// kept, an empty CMND field is allowed, surrounding whitespace and CR/LF from scanners
// are dropped. A payload that is clearly not a card QR gives an error wrapping
// ErrNotCardQR.
func ParseQR(payload string) (QR, error) {
	if len(payload) > MaxQRPayload {
		return QR{}, fmt.Errorf("parse QR: %d bytes is more than the %d a card QR holds: %w", len(payload), MaxQRPayload, ErrNotCardQR)
	}
	if !utf8.ValidString(payload) {
		return QR{}, fmt.Errorf("parse QR: payload is not valid UTF-8 (a keyboard-wedge scanner garbles Vietnamese; use the scanner's USB-COM mode)")
	}
	payload = strings.Trim(payload, " \t\r\n\x00\ufeff")
	// Apps on some phones send decomposed text ("e" + U+0302 + U+0301 for "ế"); the
	// chip and every comparison use the composed form.
	payload = norm.NFC.String(payload)
	fields := strings.Split(payload, "|")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	// One or more `|` after the last field is noise from the encoding app, not a field.
	for len(fields) > 1 && fields[len(fields)-1] == "" {
		fields = fields[:len(fields)-1]
	}
	if len(fields) < 6 {
		return QR{}, fmt.Errorf("parse QR: %d fields, want 7 (or 6 without the old ID number): %w", len(fields), ErrNotCardQR)
	}
	if !isDigits(fields[0], 12) {
		return QR{}, fmt.Errorf("parse QR: field 1 is not a 12-digit ID number: %w", ErrNotCardQR)
	}
	if len(fields) == 6 {
		// The six-field form leaves out the CMND field: a name follows the ID. Six
		// fields with an empty or numeric second field are a seven-field payload cut
		// short.
		if fields[1] == "" || isAllDigits(fields[1]) {
			return QR{}, fmt.Errorf("parse QR: 6 fields with an old-ID field: the issue date is missing (a truncated scan)")
		}
		fields = append([]string{fields[0], ""}, fields[1:]...)
	}
	q := QR{Form: FormCCCD2021}
	q.ID = fields[0]
	switch {
	case fields[1] == "":
	case isDigits(fields[1], 9):
		q.OldID = fields[1]
	default:
		return QR{}, fmt.Errorf("parse QR: field 2 (old CMND number) is neither empty nor 9 digits")
	}
	q.Name = fields[2]
	if q.Name == "" {
		return QR{}, fmt.Errorf("parse QR: field 3 (name) is empty")
	}
	var err error
	if q.Birth, err = parseQRDate(fields[3]); err != nil {
		return QR{}, fmt.Errorf("parse QR: field 4 (birth date): %w", err)
	}
	q.Sex = fields[4]
	q.Residence = fields[5]
	if q.Issued, err = parseQRDate(fields[6]); err != nil {
		return QR{}, fmt.Errorf("parse QR: field 7 (issue date): %w", err)
	}
	if q.Issued.Before(q.Birth) {
		return QR{}, fmt.Errorf("parse QR: issue date is before the birth date")
	}
	if len(fields) > 7 {
		q.Extra = append([]string(nil), fields[7:]...)
	}
	// The form is a matter of content, not of separators (apps add and drop them):
	// every card issued from 1 July 2024 is the new "thẻ căn cước" of the Identity Law
	// 2023, and only the new form carries non-empty fields after the seventh.
	if len(q.Extra) > 0 || !q.Issued.Before(identityLawStart) {
		q.Form = FormCCCD2024
	}
	return q, nil
}

// parseQRDate reads a QR date in the forms seen from the field: DDMMYYYY (the card's
// own), d/m/yyyy or dd/mm/yyyy with '/', '-' or '.' between the parts (phone apps and
// older scanners), and ISO yyyy-mm-dd. Anything else is refused.
func parseQRDate(s string) (Date, error) {
	if len(s) == 8 && isAllDigits(s) {
		return ParseDDMMYYYY(s)
	}
	const want = "want DDMMYYYY or dd/mm/yyyy"
	if len(s) < 8 || len(s) > 10 {
		return Date{}, fmt.Errorf("date of %d characters: %s", len(s), want)
	}
	var sep byte
	for _, c := range []byte("/-.") {
		if strings.IndexByte(s, c) >= 0 {
			sep = c
			break
		}
	}
	parts := strings.Split(s, string(sep))
	if sep == 0 || len(parts) != 3 {
		return Date{}, fmt.Errorf("date of %d characters: %s", len(s), want)
	}
	if sep == '-' && len(parts[0]) == 4 { // ISO yyyy-mm-dd
		parts[0], parts[2] = parts[2], parts[0]
	}
	if len(parts[0]) < 1 || len(parts[0]) > 2 || len(parts[1]) < 1 || len(parts[1]) > 2 || len(parts[2]) != 4 {
		return Date{}, fmt.Errorf("date of %d characters: %s", len(s), want)
	}
	d, ok1 := parseDigits(parts[0])
	m, ok2 := parseDigits(parts[1])
	y, ok3 := parseDigits(parts[2])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, fmt.Errorf("date of %d characters: %s", len(s), want)
	}
	return newDate(y, m, d)
}

// identityLawStart is the day the Identity Law 2023 took effect (new card model, age 14
// added to the change ages).
var identityLawStart = Date{2024, 7, 1}

func isDigits(s string, n int) bool {
	return len(s) == n && isAllDigits(s)
}

func isAllDigits(s string) bool {
	_, ok := parseDigits(s)
	return ok
}

// CANFromID gives the card access number of a CCCD: the last six digits of its ID.
func CANFromID(id string) (string, error) {
	if !isDigits(id, 12) {
		return "", fmt.Errorf("CAN from ID: want a 12-digit ID number")
	}
	return id[6:], nil
}

// DocumentNumberFromID gives the MRZ document number of a CCCD: the last nine digits
// of the 12-digit ID (not the first nine; the ICAO long-number rule does not apply).
func DocumentNumberFromID(id string) (string, error) {
	if !isDigits(id, 12) {
		return "", fmt.Errorf("document number from ID: want a 12-digit ID number")
	}
	return id[3:], nil
}
