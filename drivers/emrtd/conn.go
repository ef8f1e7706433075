package emrtd

import (
	"context"
	"errors"
	"fmt"

	"motcua-agent/drivers/emrtd/internal/sm"
)

// conn is one card session: the transmitter, the secure channel once
// access control has set one up, and the traffic counters.
type conn struct {
	t        Transmitter
	sm       *sm.Session
	counters Counters
	// dead is the transport failure that ended the session, if any.
	dead error
	// verified says the last protected response carried a good MAC
	// (whatever its status word).
	verified bool
}

// maxResponse caps the size of one response APDU we accept.
const maxResponse = 65536 + 512

// transmit sends raw bytes and counts them.
func (c *conn) transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if c.dead != nil {
		return nil, c.dead
	}
	if err := ctx.Err(); err != nil {
		c.dead = err
		return nil, err
	}
	c.counters.APDUs++
	c.counters.BytesSent += len(apdu)
	resp, err := c.t.Transmit(ctx, apdu)
	if err != nil {
		c.dead = fmt.Errorf("transmit: %w", err)
		return nil, c.dead
	}
	c.counters.BytesReceived += len(resp)
	if len(resp) < 2 {
		// An empty answer means the card is gone (or mute): nothing more
		// can be read on this session.
		c.dead = fmt.Errorf("response of %d bytes: %w", len(resp), ErrNoResponse)
		return nil, c.dead
	}
	if len(resp) > maxResponse {
		return nil, fmt.Errorf("response of %d bytes: %w", len(resp), ErrTooLarge)
	}
	return resp, nil
}

// send transmits a command, through secure messaging when a channel is
// open, and returns the response data when the status is 9000 (or 6282,
// end of file reached, with the data read). Any other status is a
// *StatusError. A MAC failure closes the channel.
func (c *conn) send(ctx context.Context, cmd sm.Command) ([]byte, error) {
	if c.sm == nil {
		return c.sendPlain(ctx, cmd)
	}
	c.verified = false
	resp, err := c.transmit(ctx, c.sm.Protect(cmd))
	if err != nil {
		return nil, err
	}
	data, sw, err := c.sm.Unprotect(resp)
	if err != nil {
		c.sm = nil
		if errors.Is(err, sm.ErrMAC) {
			return nil, ErrMACMismatch
		}
		return nil, fmt.Errorf("%w: %v", ErrSecureMessaging, err)
	}
	if len(resp) == 2 && sw != 0x9000 {
		// A bare status word: the card has ended secure messaging.
		c.sm = nil
	} else {
		c.verified = true
	}
	return checkSW(data, sw)
}

func checkSW(data []byte, sw uint16) ([]byte, error) {
	switch {
	case sw == 0x9000:
		return data, nil
	case sw == 0x6282 && len(data) > 0:
		return data, nil
	}
	return nil, &StatusError{SW: sw}
}

func (c *conn) sendPlain(ctx context.Context, cmd sm.Command) ([]byte, error) {
	resp, err := c.transmit(ctx, cmd.Encode())
	if err != nil {
		return nil, err
	}
	var out []byte
	for i := 0; ; i++ {
		sw := uint16(resp[len(resp)-2])<<8 | uint16(resp[len(resp)-1])
		out = append(out, resp[:len(resp)-2]...)
		if sw&0xFF00 != 0x6100 || i > 64 || len(out) > maxResponse {
			return checkSW(out, sw)
		}
		// 61xx: more data waits; fetch it with GET RESPONSE.
		le := int(sw & 0xFF)
		if le == 0 {
			le = 256
		}
		if resp, err = c.transmit(ctx, sm.Command{INS: 0xC0, Le: le}.Encode()); err != nil {
			return nil, err
		}
	}
}

// selectApplet selects the LDS1 application.
func (c *conn) selectApplet(ctx context.Context) error {
	_, err := c.send(ctx, sm.Command{INS: 0xA4, P1: 0x04, P2: 0x0C, Data: AppletAID, Le: -1})
	if err != nil {
		return fmt.Errorf("select eMRTD applet: %w", err)
	}
	return nil
}

// selectFile selects an elementary file by identifier in the current DF.
func (c *conn) selectFile(ctx context.Context, fid uint16) error {
	_, err := c.send(ctx, sm.Command{INS: 0xA4, P1: 0x02, P2: 0x0C, Data: []byte{byte(fid >> 8), byte(fid)}, Le: -1})
	return err
}
