package bhyt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"motcua-agent/drivers/cccd"
)

// MaxAnswer caps an answer body; a card check with its look-up history is a few
// kilobytes, so anything past this is refused as ErrOversized.
const MaxAnswer = 256 << 10

// Errors of a look-up; test with errors.Is. None of them carries the patient's data,
// the token or the password.
var (
	// ErrUnavailable: the gateway could not be reached or did not answer in time, or
	// answered 5xx without a result code. Worth trying again later.
	ErrUnavailable = errors.New("gateway unavailable")
	// ErrMalformed: the answer is not the gateway's JSON (a proxy's page, cut JSON, a
	// result code missing or of the wrong form).
	ErrMalformed = errors.New("malformed answer")
	// ErrOversized: the answer is longer than MaxAnswer.
	ErrOversized = errors.New("oversized answer")
	// ErrAuth: the gateway refused the account (wrong user name or password, an
	// operator account not registered, or an address not registered by the facility).
	ErrAuth = errors.New("gateway refused the account")
	// ErrBadQuery: the look-up's own fields are unusable (nothing was sent).
	ErrBadQuery = errors.New("bad look-up")
)

// Reason classifies a look-up's result: the dimension the failure counters are split
// by. Reasons of gateway answers come from the result code table in wire.go; the
// others are ours.
type Reason string

const (
	ReasonValid        Reason = "valid"        // 000
	ReasonNewCard      Reason = "new-card"     // 003, 004: a new card was issued (success)
	ReasonOtherAgency  Reason = "other-agency" // 001, 002: defence or police social insurance
	ReasonExpired      Reason = "expired"      // 010
	ReasonNoCard       Reason = "no-card"      // 050
	ReasonWrongCard    Reason = "wrong-card-number"
	ReasonOperator     Reason = "operator" // 054, 055: the operator's account or name
	ReasonWrongName    Reason = "wrong-name"
	ReasonWrongBirth   Reason = "wrong-birth"
	ReasonGatewayError Reason = "gateway-error" // 100, 101
	ReasonRevoked      Reason = "revoked"
	ReasonReduced      Reason = "reduced" // 120–124
	ReasonChildNoCard  Reason = "child-no-card"
	ReasonBadFormat    Reason = "bad-format" // 205
	ReasonAuth         Reason = "auth"       // 401 and refused tokens
	ReasonUnknownCode  Reason = "unknown-code"
	// Ours: the look-up did not get a usable answer.
	ReasonUnavailable Reason = "unavailable"
	ReasonMalformed   Reason = "malformed"
	ReasonOversized   Reason = "oversized"
)

// ReasonOf names the reason of a look-up error (ReasonUnavailable for anything else).
func ReasonOf(err error) Reason {
	switch {
	case errors.Is(err, ErrOversized):
		return ReasonOversized
	case errors.Is(err, ErrMalformed):
		return ReasonMalformed
	case errors.Is(err, ErrAuth):
		return ReasonAuth
	case errors.Is(err, ErrBadQuery):
		return ReasonBadFormat
	}
	return ReasonUnavailable
}

// Card is the insurance card the gateway found. Everything in it is personal,
// health-related data: keep it in memory, never log or store it.
type Card struct {
	Number       string    `json:"number"`
	Name         string    `json:"name,omitempty"`
	Birth        string    `json:"birth,omitempty"` // as the gateway gave it
	Sex          string    `json:"sex,omitempty"`
	Address      string    `json:"address,omitempty"`
	Facility     string    `json:"facility,omitempty"`      // registered facility code (maDKBD)
	FacilityName string    `json:"facility_name,omitempty"` // only given for a new card
	Agency       string    `json:"agency,omitempty"`
	ValidFrom    cccd.Date `json:"valid_from"`
	ValidTo      cccd.Date `json:"valid_to"`
	Area         string    `json:"area,omitempty"`
	FiveYears    string    `json:"five_years,omitempty"`
	SocialNumber string    `json:"social_number,omitempty"`
}

// Answer is the gateway's answer to one card check.
type Answer struct {
	Code   string `json:"code"` // maKetQua
	Reason Reason `json:"reason"`
	// There is no ghiChu here on purpose: the gateway often writes the patient's name,
	// birth date and address into it. It is dropped when the answer is read.
	Card *Card `json:"card,omitempty"`
	// NewCard is the card issued in place of Card (codes 003 and 004).
	NewCard *Card `json:"new_card,omitempty"`
}

// OK reports a successful look-up: 000, or 003/004 with the new card.
func (a Answer) OK() bool { return a.Reason == ReasonValid || a.Reason == ReasonNewCard }

// Retryable reports an answer worth asking again later (the gateway's server error).
func (a Answer) Retryable() bool { return retryableCodes[a.Code] }

// Current is the card to use: the new one when the gateway issued one.
func (a Answer) Current() *Card {
	if a.NewCard != nil {
		return a.NewCard
	}
	return a.Card
}

// flexString takes a JSON string or number as text.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("want a string or a number")
	}
	*f = flexString(n)
	return nil
}

// normaliseCode gives a result code in its three-digit form ("0" and 0 → "000").
func normaliseCode(c string) (string, bool) {
	c = strings.TrimSpace(c)
	if c == "" || len(c) > 3 {
		return "", false
	}
	for i := 0; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			return "", false
		}
	}
	return strings.Repeat("0", 3-len(c)) + c, true
}

// ParseAnswer reads a card check's answer body. It refuses bodies over MaxAnswer
// (ErrOversized), anything that is not a JSON object with a three-digit maKetQua
// (ErrMalformed), and a success the nurse could not use (ErrMalformed): 000 without a
// card number or a readable validity period, 003/004 without the new card's number.
// Real answers a strict reader gets wrong are read as the gateway means them: 000 with
// maTheMoi equal to maThe (and no new dates) is the plain valid card; a new card with
// an empty gtTheDenMoi has no end date yet; "new card" fields may be null or "".
// Unknown result codes are an Answer with ReasonUnknownCode. ghiChu is dropped. Errors
// describe the problem, never the body's content.
func ParseAnswer(body []byte) (Answer, error) {
	if len(body) > MaxAnswer {
		return Answer{}, fmt.Errorf("%w: more than %d bytes", ErrOversized, MaxAnswer)
	}
	var raw checkAnswer
	if err := decodeObject(body, &raw); err != nil {
		return Answer{}, err
	}
	code, ok := normaliseCode(string(raw.Code))
	if !ok {
		return Answer{}, fmt.Errorf("%w: maKetQua missing or not a result code", ErrMalformed)
	}
	a := Answer{Code: code, Reason: ReasonUnknownCode}
	if r, known := resultCodes[code]; known {
		a.Reason = r
	}
	number, newNumber := strings.TrimSpace(raw.Card), strings.TrimSpace(raw.NewCard)
	if strings.EqualFold(newNumber, number) {
		// The same card named again as "new": not a replacement (seen with 000).
		newNumber = ""
	}
	if number != "" {
		c, err := cardOf(number, raw.ValidFrom, raw.ValidTo, a.OK() && newNumber == "")
		if err != nil {
			return Answer{}, err
		}
		c.Name, c.Birth, c.Sex, c.Address = raw.Name, raw.Birth, raw.Sex, raw.Address
		c.Facility, c.Agency, c.Area, c.FiveYears, c.SocialNumber = raw.Facility, raw.Agency, raw.Area, raw.FiveYears, raw.SocialNumber
		a.Card = c
	}
	if newNumber != "" {
		c, err := newCardOf(newNumber, raw.NewValidFrom, raw.NewValidTo)
		if err != nil {
			return Answer{}, err
		}
		c.Name, c.Birth, c.Sex, c.Address = raw.Name, raw.Birth, raw.Sex, raw.Address
		c.Facility, c.FacilityName = strings.TrimSpace(raw.NewFacility), raw.NewFacilityNam
		if c.Facility == "" {
			c.Facility = raw.Facility
		}
		a.NewCard = c
	}
	if a.OK() && a.Current() == nil {
		return Answer{}, fmt.Errorf("%w: result %s without a card number", ErrMalformed, code)
	}
	return a, nil
}

// cardOf builds a card with its validity period; strict requires both dates.
func cardOf(number, from, to string, strict bool) (*Card, error) {
	if utf8.RuneCountInString(number) > 32 {
		return nil, fmt.Errorf("%w: card number of %d characters", ErrMalformed, utf8.RuneCountInString(number))
	}
	c := &Card{Number: number}
	var err1, err2 error
	c.ValidFrom, err1 = ParseDate(from)
	c.ValidTo, err2 = ParseDate(to)
	if strict && (err1 != nil || err2 != nil) {
		return nil, fmt.Errorf("%w: a valid card without a readable validity period (gtTheTu/gtTheDen)", ErrMalformed)
	}
	if strict && c.ValidTo.Before(c.ValidFrom) {
		return nil, fmt.Errorf("%w: validity ends before it starts", ErrMalformed)
	}
	return c, nil
}

// newCardOf builds the card issued in place of the old one. Its dates may be empty (a
// new card with no end date yet); a date that is given must read, and the period must
// not end before it starts.
func newCardOf(number, from, to string) (*Card, error) {
	c, err := cardOf(number, "", "", false)
	if err != nil {
		return nil, err
	}
	for _, d := range []struct {
		text string
		into *cccd.Date
	}{{from, &c.ValidFrom}, {to, &c.ValidTo}} {
		if strings.TrimSpace(d.text) == "" {
			continue
		}
		if *d.into, err = ParseDate(d.text); err != nil {
			return nil, fmt.Errorf("%w: the new card's validity date (gtTheTuMoi/gtTheDenMoi) does not read", ErrMalformed)
		}
	}
	if !c.ValidFrom.IsZero() && !c.ValidTo.IsZero() && c.ValidTo.Before(c.ValidFrom) {
		return nil, fmt.Errorf("%w: the new card's validity ends before it starts", ErrMalformed)
	}
	return c, nil
}

// decodeObject decodes one JSON object, with nothing but space after it.
func decodeObject(body []byte, v any) error {
	t := bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))
	if len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%w: field %s has the wrong type", ErrMalformed, te.Field)
		}
		return fmt.Errorf("%w: not valid JSON", ErrMalformed)
	}
	if dec.More() {
		return fmt.Errorf("%w: data after the JSON object", ErrMalformed)
	}
	return nil
}

// ParseDate reads a gateway date: dd/mm/yyyy (documented) or ddmmyyyy (the official
// sample).
func ParseDate(s string) (cccd.Date, error) {
	s = strings.TrimSpace(s)
	if len(s) == 10 {
		return cccd.ParseSlashDate(s)
	}
	return cccd.ParseDDMMYYYY(s)
}

// DMY formats a card date for people: dd/mm/yyyy, "" when absent.
func DMY(d cccd.Date) string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%02d/%02d/%04d", d.Day, int(d.Month), d.Year)
}

// Token is an access token pair and when it stops working.
type Token struct {
	Access  string
	ID      string
	Expires time.Time
}

// ParseToken reads the token endpoint's answer. expires_in is an absolute UTC time
// (RFC 3339, or without a zone, meaning UTC); a plain number is taken as seconds from
// now. A refused account (maKetQua 401) is ErrAuth.
func ParseToken(body []byte, now time.Time) (Token, error) {
	if len(body) > MaxAnswer {
		return Token{}, fmt.Errorf("%w: more than %d bytes", ErrOversized, MaxAnswer)
	}
	var raw tokenAnswer
	if err := decodeObject(body, &raw); err != nil {
		return Token{}, err
	}
	code := strings.TrimSpace(string(raw.Code))
	if code == "401" {
		return Token{}, ErrAuth
	}
	if code != tokenOK {
		if _, ok := normaliseCode(code); !ok {
			return Token{}, fmt.Errorf("%w: token answer without a result code", ErrMalformed)
		}
		return Token{}, fmt.Errorf("%w: token answer %s", ErrUnavailable, code)
	}
	k := raw.APIKey
	if k == nil || k.AccessToken == "" || k.IDToken == "" {
		return Token{}, fmt.Errorf("%w: token answer without access_token and id_token", ErrMalformed)
	}
	if len(k.AccessToken) > 4096 || len(k.IDToken) > 8192 {
		return Token{}, fmt.Errorf("%w: token longer than a token can be", ErrMalformed)
	}
	exp, err := parseExpiry(string(k.ExpiresIn), now)
	if err != nil {
		return Token{}, err
	}
	return Token{Access: k.AccessToken, ID: k.IDToken, Expires: exp}, nil
}

func parseExpiry(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 || n > 7*24*3600 {
			return time.Time{}, fmt.Errorf("%w: expires_in of %d seconds", ErrMalformed, n)
		}
		return now.Add(time.Duration(n) * time.Second), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", "02/01/2006 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: expires_in is neither a time nor a number of seconds", ErrMalformed)
}
