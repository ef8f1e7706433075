package bhyt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Query is one card check: the patient's ID number (or insurance card number), name
// and birth date. All of it is personal data: never log it.
type Query struct {
	// Number is the 12-digit ID number or the insurance card number (maThe).
	Number string
	Name   string
	// Birth is dd/mm/yyyy, ddmmyyyy, yyyy-mm-dd, or mm/yyyy or yyyy when the card has
	// no day or month.
	Birth string
}

// wire checks the query and gives the fields as sent.
func (q Query) wire() (number, name, birth string, err error) {
	number = strings.Join(strings.Fields(q.Number), "")
	// Names travel NFC-normalised: a scanner or app may send "ễ" decomposed, which the
	// gateway would take for another name.
	name = norm.NFC.String(strings.Join(strings.Fields(q.Name), " "))
	switch {
	case number == "" || len(number) > 20 || !alnum(number):
		return "", "", "", fmt.Errorf("%w: the number must be the 12-digit ID number or the insurance card number", ErrBadQuery)
	case name == "" || utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name):
		return "", "", "", fmt.Errorf("%w: the name must be 1 to 100 characters", ErrBadQuery)
	}
	birth, err = WireBirth(q.Birth)
	return number, name, birth, err
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// WireBirth gives a birth date in the form the gateway documents: dd/mm/yyyy, or
// mm/yyyy or yyyy alone where the card carries no day or month (the gateway takes
// both). The error never repeats the date.
func WireBirth(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) == 4 {
		if y, err := time.Parse("2006", s); err == nil && y.Year() >= 1900 {
			return s, nil
		}
	}
	if m, y, ok := monthYear(s); ok {
		return fmt.Sprintf("%02d/%04d", m, y), nil
	}
	if len(s) == 10 && s[4] == '-' {
		if t, err := time.Parse("2006-01-02", s); err == nil {
			return t.Format(birthLayout), nil
		}
	} else if d, err := ParseDate(s); err == nil {
		return fmt.Sprintf("%02d/%02d/%04d", d.Day, int(d.Month), d.Year), nil
	}
	return "", fmt.Errorf("%w: the birth date must be dd/mm/yyyy, ddmmyyyy, yyyy-mm-dd, mm/yyyy or a year", ErrBadQuery)
}

// monthYear reads mm/yyyy (or m/yyyy).
func monthYear(s string) (month, year int, ok bool) {
	i := strings.IndexByte(s, '/')
	if i < 1 || i > 2 || len(s)-i-1 != 4 {
		return 0, 0, false
	}
	m, err1 := strconv.Atoi(s[:i])
	y, err2 := strconv.Atoi(s[i+1:])
	if err1 != nil || err2 != nil || !allDigits(s[:i]) || !allDigits(s[i+1:]) || m < 1 || m > 12 || y < 1900 || y > 2199 {
		return 0, 0, false
	}
	return m, y, true
}

// Client checks cards at the gateway with one account. It keeps the account's token and
// takes a new one before it expires, or when the gateway says it has. Safe for
// concurrent use.
type Client struct {
	// BaseURL is the gateway (ProductionGateway, TrainingGateway, or a simulator).
	BaseURL string
	Account Account
	// HTTP is the transport (a client with no timeout of its own by default).
	HTTP *http.Client
	// Timeout bounds one request (default 30 s: the gateway often takes 5–30 s).
	Timeout time.Duration
	// Now is the clock token expiry is judged by (time.Now when nil).
	Now func() time.Time
	// FormCheck sends the check form-encoded instead of JSON (the gateway takes both).
	FormCheck bool

	mu     sync.Mutex
	token  Token
	tokens atomic.Int64
}

// tokenMargin: a token this close to its expiry is replaced before use.
const tokenMargin = 30 * time.Second

// Tokens is how many tokens the client has taken.
func (c *Client) Tokens() int64 { return c.tokens.Load() }

func (c *Client) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Client) timeout() time.Duration {
	if c.Timeout <= 0 {
		return 30 * time.Second
	}
	return c.Timeout
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
}

// Check looks a card up. A gateway answer, whatever its result code, is an Answer; an
// error means no usable answer (ErrUnavailable, ErrMalformed, ErrOversized, ErrAuth,
// ErrBadQuery). An expired token is replaced and the check asked once more.
func (c *Client) Check(ctx context.Context, q Query) (Answer, error) {
	number, name, birth, err := q.wire()
	if err != nil {
		return Answer{}, err
	}
	body := checkBody{Card: number, Name: name, Birth: birth, OperatorName: c.Account.OperatorName, OperatorID: c.Account.OperatorID}
	for attempt := 0; ; attempt++ {
		tok, err := c.currentToken(ctx)
		if err != nil {
			return Answer{}, err
		}
		a, expired, err := c.check(ctx, tok, body)
		if !expired {
			return a, err
		}
		c.dropToken(tok)
		if attempt == 1 {
			return Answer{}, fmt.Errorf("check: %w: a fresh token was refused too", ErrAuth)
		}
	}
}

func (c *Client) currentToken(ctx context.Context) (Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token.Access != "" && c.now().Add(tokenMargin).Before(c.token.Expires) {
		return c.token, nil
	}
	t, err := c.takeToken(ctx)
	if err != nil {
		return Token{}, err
	}
	c.token = t
	return t, nil
}

func (c *Client) dropToken(t Token) {
	c.mu.Lock()
	if c.token.Access == t.Access {
		c.token = Token{}
	}
	c.mu.Unlock()
}

// takeToken asks for a new token (c.mu held).
func (c *Client) takeToken(ctx context.Context) (Token, error) {
	form := url.Values{fieldUsername: {c.Account.Username}, fieldPassword: {c.Account.passwordMD5}}
	status, body, err := c.post(ctx, "token", PathToken, "application/x-www-form-urlencoded", []byte(form.Encode()))
	if err != nil {
		return Token{}, err
	}
	switch {
	case status == http.StatusUnauthorized:
		return Token{}, fmt.Errorf("token: %w (HTTP 401: check the user name and password, and that this PC's address is registered)", ErrAuth)
	case status >= 500:
		return Token{}, fmt.Errorf("token: %w: HTTP %d", ErrUnavailable, status)
	}
	t, err := ParseToken(body, c.now())
	if err != nil {
		return Token{}, fmt.Errorf("token: %w", err)
	}
	c.tokens.Add(1)
	return t, nil
}

// check sends one check; expired reports that the gateway refused the token.
func (c *Client) check(ctx context.Context, tok Token, b checkBody) (a Answer, expired bool, err error) {
	q := url.Values{fieldToken: {tok.Access}, fieldIDToken: {tok.ID}, fieldUsername: {c.Account.Username},
		fieldPassword: {c.Account.passwordMD5}}
	ctype, payload := "application/json", []byte(nil)
	if c.FormCheck {
		ctype = "application/x-www-form-urlencoded"
		payload = []byte(url.Values{fieldCard: {b.Card}, fieldName: {b.Name}, fieldBirth: {b.Birth},
			fieldOperatorName: {b.OperatorName}, fieldOperatorID: {b.OperatorID}}.Encode())
	} else {
		payload, _ = json.Marshal(b)
	}
	status, body, err := c.post(ctx, "check", PathCheck+"?"+q.Encode(), ctype, payload)
	if err != nil {
		return Answer{}, false, err
	}
	if status == http.StatusUnauthorized {
		return Answer{}, true, nil
	}
	a, perr := ParseAnswer(body)
	switch {
	case perr == nil && a.Code == "401":
		return Answer{}, true, nil
	case perr == nil:
		return a, false, nil
	case status >= 500 && !errors.Is(perr, ErrOversized):
		return Answer{}, false, fmt.Errorf("check: %w: HTTP %d", ErrUnavailable, status)
	case status != http.StatusOK:
		return Answer{}, false, fmt.Errorf("check: HTTP %d: %w", status, perr)
	}
	return Answer{}, false, fmt.Errorf("check: %w", perr)
}

// post sends one request and reads at most MaxAnswer+1 bytes of its answer. Its errors
// never carry the URL (its query holds the token and the password's hash).
func (c *Client) post(ctx context.Context, step, pathQuery, ctype string, payload []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+pathQuery, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w: the gateway address is not a valid URL", step, ErrBadQuery)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w: %v", step, ErrUnavailable, bareError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w: reading the answer: %v", step, ErrUnavailable, bareError(err))
	}
	if len(body) > MaxAnswer {
		return resp.StatusCode, nil, fmt.Errorf("%s: %w: more than %d bytes (HTTP %d)", step, ErrOversized, MaxAnswer, resp.StatusCode)
	}
	return resp.StatusCode, body, nil
}

// bareError strips the request URL from a transport error.
func bareError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("no answer in time")
	}
	return err
}
