// Package relay drives USB-serial relay boards that open a turnstile or barrier: the
// LCUS family (CH340, "A0 01 01 A2" closes channel 1, "A0 01 00 A1" releases it), the
// KMTronic boards (which answer a status query) and any board described by byte
// sequences in the config. A board that does not answer, or whose port vanished, puts
// the relay in a fault state that callers see at once.
//
// It knows nothing of lanes, visitors or counters, and never decides who may pass.
package relay

import (
	"bytes"
	"fmt"

	"motcua-agent/config"
)

// Board is the wire of one relay channel: the command frames and, for boards that
// answer, the status query and the answers for each state.
type Board struct {
	Close, Release []byte
	// Query, when set, asks the board its state; AnswerClosed and AnswerReleased are the
	// answers. Without a query the board is write-only and only a failed write or a
	// vanished port reveals a fault.
	Query                        []byte
	AnswerClosed, AnswerReleased []byte
}

// Confirms says whether the board answers, so commands can be confirmed.
func (b Board) Confirms() bool { return len(b.Query) > 0 }

// LCUS is the frame of the LCUS boards: start byte A0, channel, state, and the sum of
// the three as a check byte.
func LCUS(channel int, closed bool) []byte {
	f := []byte{0xA0, byte(channel), 0}
	if closed {
		f[2] = 1
	}
	return append(f, f[0]+f[1]+f[2])
}

// BoardFor builds the board a lane's config describes. Sequences given in the config
// override the preset's.
func BoardFor(c config.GateRelay) (Board, error) {
	var b Board
	switch c.Board {
	case config.RelayLCUS, "":
		b = Board{Close: LCUS(c.Channel, true), Release: LCUS(c.Channel, false)}
	case config.RelayKMTronic:
		ch := byte(c.Channel)
		b = Board{Close: []byte{0xFF, ch, 0x01}, Release: []byte{0xFF, ch, 0x00}, Query: []byte{0xFF, ch, 0x03},
			AnswerClosed: []byte{0xFF, ch, 0x01}, AnswerReleased: []byte{0xFF, ch, 0x00}}
	case config.RelayCustom:
	default:
		return b, fmt.Errorf("relay: unknown board %q", c.Board)
	}
	for _, o := range []struct {
		text string
		dst  *[]byte
	}{{c.Close, &b.Close}, {c.Release, &b.Release}, {c.Query, &b.Query},
		{c.AnswerClosed, &b.AnswerClosed}, {c.AnswerReleased, &b.AnswerReleased}} {
		if o.text == "" {
			continue
		}
		v, err := config.ParseHex(o.text)
		if err != nil {
			return b, fmt.Errorf("relay: %w", err)
		}
		*o.dst = v
	}
	if len(b.Close) == 0 || len(b.Release) == 0 {
		return b, fmt.Errorf("relay: board %q needs close and release sequences", c.Board)
	}
	if b.Confirms() && (len(b.AnswerClosed) == 0 || len(b.AnswerReleased) == 0) {
		return b, fmt.Errorf("relay: a status query needs both answers")
	}
	return b, nil
}

// answerState finds the last complete answer in buf: closed, released, or ok=false.
func (b Board) answerState(buf []byte) (closed, ok bool) {
	ic := bytes.LastIndex(buf, b.AnswerClosed)
	ir := bytes.LastIndex(buf, b.AnswerReleased)
	switch {
	case ic < 0 && ir < 0:
		return false, false
	case ic > ir:
		return true, true
	default:
		return false, true
	}
}

// maxAnswer caps what is read while waiting for one answer.
const maxAnswer = 256
