package display

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// KeypadCommand is one key press of a serial call keypad or rating keypad.
type KeypadCommand struct {
	Counter string
	// Action is next, recall, start, finish, noshow, call, or rate (a rating keypad).
	Action string
	// Number is the ticket for call.
	Number int
	// Level is the rating for rate, 1 (worst) to 5.
	Level int
}

// maxKeypadLine bounds one keypad line; longer input is refused, not buffered.
const maxKeypadLine = 64

var keypadActions = map[string]string{"NEXT": "next", "RECALL": "recall", "START": "start",
	"FINISH": "finish", "NOSHOW": "noshow", "CALL": "call", "RATE": "rate"}

// ParseKeypadLine reads one line of the keypad protocol: the counter, a key and, for
// CALL, a number (for RATE, a level 1..5), separated by spaces and ended by CR and/or
// LF:
//
//	3 NEXT
//	3 RECALL
//	3 CALL 1023
//	3 RATE 4
func ParseKeypadLine(line string) (KeypadCommand, error) {
	if len(line) > maxKeypadLine {
		return KeypadCommand{}, errors.New("keypad: line too long")
	}
	f := strings.Fields(strings.ToUpper(line))
	if len(f) < 2 {
		return KeypadCommand{}, fmt.Errorf("keypad: want \"COUNTER KEY\", got %q", line)
	}
	for _, r := range f[0] {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z') || len(f[0]) > 8 {
			return KeypadCommand{}, fmt.Errorf("keypad: bad counter %q", f[0])
		}
	}
	act, ok := keypadActions[f[1]]
	if !ok {
		return KeypadCommand{}, fmt.Errorf("keypad: unknown key %q", f[1])
	}
	c := KeypadCommand{Counter: f[0], Action: act}
	switch {
	case act == "call":
		if len(f) != 3 {
			return KeypadCommand{}, fmt.Errorf("keypad: CALL needs a number, got %q", line)
		}
		n, err := strconv.Atoi(f[2])
		if err != nil || n < 1 || n > 9999 {
			return KeypadCommand{}, fmt.Errorf("keypad: bad number %q", f[2])
		}
		c.Number = n
	case act == "rate":
		if len(f) != 3 || len(f[2]) != 1 || f[2][0] < '1' || f[2][0] > '5' {
			return KeypadCommand{}, fmt.Errorf("keypad: RATE needs a level 1 to 5, got %q", line)
		}
		c.Level = int(f[2][0] - '0')
	case len(f) != 2:
		return KeypadCommand{}, fmt.Errorf("keypad: unexpected %q", line)
	}
	return c, nil
}

// ReadKeypad reads commands from a keypad line until it fails or ctx ends; bad lines
// go to onError and reading goes on. An over-long line is dropped whole, so its tail
// can never pass for a command.
func ReadKeypad(ctx context.Context, r io.Reader, on func(KeypadCommand), onError func(error)) error {
	br := bufio.NewReader(r)
	var line []byte
	tooLong := false
	for ctx.Err() == nil {
		b, err := br.ReadByte()
		if err != nil {
			if err == io.EOF && len(line) > 0 && !tooLong {
				dispatch(string(line), on, onError)
			}
			return err
		}
		if b != '\r' && b != '\n' {
			if len(line) < maxKeypadLine {
				line = append(line, b)
			} else {
				tooLong = true
			}
			continue
		}
		switch {
		case tooLong:
			onError(errors.New("keypad: line too long"))
		case len(strings.TrimSpace(string(line))) > 0:
			dispatch(string(line), on, onError)
		}
		line, tooLong = line[:0], false
	}
	return ctx.Err()
}

func dispatch(line string, on func(KeypadCommand), onError func(error)) {
	c, err := ParseKeypadLine(line)
	if err != nil {
		onError(err)
		return
	}
	on(c)
}
