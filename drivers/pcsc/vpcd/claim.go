package vpcd

import (
	"errors"
	"net"
	"os"
	"path/filepath"
)

// ErrClaimed is returned by Claim when another program holds the virtual reader.
var ErrClaimed = errors.New("the virtual reader is in use by another program")

// Claim takes this machine's claim on the virtual reader at addr, so that two
// programs never put cards into one vpcd reader at once: vpcd serves one card at a
// time and queues the next connection, which then appears as soon as the first card
// leaves, in the middle of someone else's work. The demo agent's automatic card takes
// the claim without waiting and stands aside while another holds it; tests take it
// waiting. The claim is a lock file in the temp dir, released by calling release (or
// when the process ends). Where there is no such lock (not Unix) it always succeeds.
func Claim(addr string, wait bool) (release func(), err error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	return lockFile(filepath.Join(os.TempDir(), "motcua-agent-vpcd-"+port+".lock"), wait)
}
