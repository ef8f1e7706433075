package emrtd

import (
	"errors"
	"fmt"
)

// Sentinel errors that a *StatusError matches with errors.Is, by status word.
var (
	ErrSecurityStatus    = errors.New("security status not satisfied")         // 6982
	ErrAuthFailed        = errors.New("authentication failed")                 // 6300, 63Cx, 6988
	ErrAuthBlocked       = errors.New("authentication method blocked")         // 6983
	ErrConditionsNotMet  = errors.New("conditions of use not satisfied")       // 6985
	ErrSMObjectsMissing  = errors.New("secure messaging data objects missing") // 6987
	ErrFileNotFound      = errors.New("file or application not found")         // 6A82
	ErrWrongLength       = errors.New("wrong length")                          // 6700
	ErrWrongLe           = errors.New("wrong Le")                              // 6Cxx
	ErrWrongParameters   = errors.New("wrong parameters P1-P2")                // 6A86, 6B00
	ErrWrongData         = errors.New("wrong data")                            // 6A80
	ErrNotSupported      = errors.New("instruction or class not supported")    // 6D00, 6E00, 6A81
	ErrEndOfFile         = errors.New("offset beyond end of file")             // 6B00 on READ BINARY, 6282
	ErrCommandNotAllowed = errors.New("command not allowed")                   // 6986
	ErrCardError         = errors.New("card reported an error")                // anything else
	ErrMalformedResponse = errors.New("malformed response APDU")               // fewer than 2 bytes
	ErrMACMismatch       = errors.New("secure messaging: MAC mismatch")        // response MAC did not verify
	ErrSecureMessaging   = errors.New("secure messaging: malformed protected response")
	ErrAccessDenied      = errors.New("access denied with every key")
	ErrTooLarge          = errors.New("length exceeds cap")
	ErrMalformed         = errors.New("malformed data")
	ErrNoResponse        = errors.New("no response from card")
)

// StatusError is a status word other than 9000 returned by the card.
type StatusError struct {
	SW uint16
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("card status %04X (%s)", e.SW, e.meaning())
}

// RetriesLeft returns the retry counter carried by 63Cx, or -1.
func (e *StatusError) RetriesLeft() int {
	if e.SW&0xFFF0 == 0x63C0 {
		return int(e.SW & 0x000F)
	}
	return -1
}

// ExactLe returns the length the card asks for with 6Cxx (0 means 256), or -1.
func (e *StatusError) ExactLe() int {
	if e.SW&0xFF00 == 0x6C00 {
		if e.SW&0xFF == 0 {
			return 256
		}
		return int(e.SW & 0xFF)
	}
	return -1
}

func (e *StatusError) meaning() string {
	if target := e.target(); target != nil {
		return target.Error()
	}
	return "unknown"
}

func (e *StatusError) target() error {
	switch {
	case e.SW == 0x6982:
		return ErrSecurityStatus
	case e.SW == 0x6300, e.SW&0xFFF0 == 0x63C0, e.SW == 0x6988:
		return ErrAuthFailed
	case e.SW == 0x6983:
		return ErrAuthBlocked
	case e.SW == 0x6985:
		return ErrConditionsNotMet
	case e.SW == 0x6987:
		return ErrSMObjectsMissing
	case e.SW == 0x6986:
		return ErrCommandNotAllowed
	case e.SW == 0x6A82:
		return ErrFileNotFound
	case e.SW == 0x6700:
		return ErrWrongLength
	case e.SW&0xFF00 == 0x6C00:
		return ErrWrongLe
	case e.SW == 0x6A86:
		return ErrWrongParameters
	case e.SW == 0x6B00, e.SW == 0x6282:
		return ErrEndOfFile
	case e.SW == 0x6A80:
		return ErrWrongData
	case e.SW == 0x6D00, e.SW == 0x6E00, e.SW == 0x6A81:
		return ErrNotSupported
	}
	return nil
}

// Is lets errors.Is match a StatusError against the sentinels above; every
// StatusError also matches ErrCardError.
func (e *StatusError) Is(target error) bool {
	if target == ErrCardError {
		return true
	}
	t := e.target()
	return t != nil && t == target
}
