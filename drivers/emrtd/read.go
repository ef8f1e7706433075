package emrtd

import (
	"context"
	"fmt"
)

// Read opens the chip with the first key that works, reads EF.COM, EF.SOD
// and the data groups, and runs passive, chip and active authentication.
// It returns an error only when no key opens the chip (an
// *AccessDeniedError), when the transport fails (the card is gone, the
// context ends) or when DG1 cannot be read; every other step's failure is a
// fact in the Document.
func Read(ctx context.Context, t Transmitter, opts ReadOptions) (*Document, error) {
	return nil, fmt.Errorf("read: %w", errNotImplemented)
}
