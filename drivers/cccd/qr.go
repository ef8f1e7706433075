package cccd

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxQRPayload caps what ParseQR accepts; the card's QR holds a few hundred bytes.
const MaxQRPayload = 4096

// QR form names, also used as the scan "kind" on the bus.
const (
	FormCCCD2021 = "cccd-2021" // the seven-field QR of the CCCD (Circular 06/2021)
	FormCCCD2024 = "cccd-2024" // the 2024 card's QR (Circular 16/2024): the same seven fields first, more after
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
	// Extra holds the fields after the seventh, verbatim (the 2024 card may carry the
	// parents' names, a cancelled ID number and more; their order is not established).
	Extra []string
}

// ParseQR parses the payload of the ID card's QR (2021 seven-field form or the 2024
// form with more fields). It is strict about the ID number and the dates, which open
// the chip, and tolerant about everything else: extra trailing fields are kept, an
// empty CMND field is allowed, surrounding whitespace and CR/LF from scanners are
// dropped. A payload that is clearly not a card QR gives an error wrapping
// ErrNotCardQR.
func ParseQR(payload string) (QR, error) {
	if len(payload) > MaxQRPayload {
		return QR{}, fmt.Errorf("parse QR: %d bytes is more than the %d a card QR holds: %w", len(payload), MaxQRPayload, ErrNotCardQR)
	}
	payload = strings.TrimPrefix(payload, "\ufeff")
	payload = strings.Trim(payload, " \t\r\n\x00")
	if !utf8.ValidString(payload) {
		return QR{}, fmt.Errorf("parse QR: payload is not valid UTF-8 (a keyboard-wedge scanner garbles Vietnamese; use the scanner's USB-COM mode)")
	}
	fields := strings.Split(payload, "|")
	if len(fields) < 7 {
		return QR{}, fmt.Errorf("parse QR: %d fields, want at least 7: %w", len(fields), ErrNotCardQR)
	}
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	q := QR{Form: FormCCCD2021}
	if !isDigits(fields[0], 12) {
		return QR{}, fmt.Errorf("parse QR: field 1 is not a 12-digit ID number: %w", ErrNotCardQR)
	}
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
	if q.Birth, err = ParseDDMMYYYY(fields[3]); err != nil {
		return QR{}, fmt.Errorf("parse QR: field 4 (birth date): %w", err)
	}
	q.Sex = fields[4]
	q.Residence = fields[5]
	if q.Issued, err = ParseDDMMYYYY(fields[6]); err != nil {
		return QR{}, fmt.Errorf("parse QR: field 7 (issue date): %w", err)
	}
	if q.Issued.Before(q.Birth) {
		return QR{}, fmt.Errorf("parse QR: issue date is before the birth date")
	}
	if len(fields) > 7 {
		q.Extra = append([]string(nil), fields[7:]...)
	}
	// Cards issued from 1 July 2024 are the new "thẻ căn cước" under the Identity Law
	// 2023, whatever number of fields their QR has.
	if len(fields) > 7 || !q.Issued.Before(identityLawStart) {
		q.Form = FormCCCD2024
	}
	return q, nil
}

// identityLawStart is the day the Identity Law 2023 took effect (new card model, age 14
// added to the change ages).
var identityLawStart = Date{2024, 7, 1}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
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
