package keyboard

import "errors"

func isNoDisplay(err error) bool { return errors.Is(err, ErrNoDisplay) }
