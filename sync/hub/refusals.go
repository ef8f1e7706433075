package hub

import (
	"log/slog"
	"sync"
	"time"
)

// refusalLog writes refused pushes to the log at a bounded rate, so no client can grow
// the log: at most one line per refusalLogEvery, which also says how many refusals
// went unwritten since the last line. A line holds the answer's code and the client's
// address only: never a header, a body, a device name or the refusal's text (each may
// carry what a client chose). Every refusal is counted in /metrics by its code.
type refusalLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int64
}

const refusalLogEvery = time.Second

func (l *refusalLog) note(log *slog.Logger, perr *pushError, addr string) {
	l.mu.Lock()
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < refusalLogEvery {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	l.last = now
	suppressed := l.suppressed
	l.suppressed = 0
	l.mu.Unlock()
	log.Info("push refused", "code", perr.code, "status", perr.status, "remote", addr, "unlogged_since_last", suppressed)
}
