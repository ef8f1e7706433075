package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
)

// Errors of opening and writing the record. Each is wrapped with a sentence that says
// what to do; test with errors.Is.
var (
	// ErrCorrupt: SQLite answered CORRUPT or NOTADB, or the integrity check failed. Open
	// moves such a file aside and starts a fresh record; nothing else is moved aside.
	ErrCorrupt = errors.New("store: the record is damaged")
	// ErrNewerSchema: the record was written by a newer agent (a downgrade).
	ErrNewerSchema = errors.New("store: the record was written by a newer agent")
	// ErrReadOnly: the file or its folder cannot be written (read-only disk or mount,
	// permissions, a file attribute).
	ErrReadOnly = errors.New("store: the record cannot be written")
)

// Unavailable says whether err means the record cannot take writes at the moment (a
// full disk or a read-only record): the caller should answer "try again later" (HTTP
// 503), not blame the request.
func Unavailable(err error) bool { return FaultKind(err) != "" }

// FaultKind names the storage fault behind err: "disk_full", "read_only", or "" when
// err is not one.
func FaultKind(err error) string {
	switch {
	case errors.Is(err, ErrDiskFull):
		return "disk_full"
	case errors.Is(err, ErrReadOnly):
		return "read_only"
	}
	return ""
}

func sqliteCode(err error) (sqlite3.ErrNo, bool) {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.Code, true
	}
	return 0, false
}

// classifyOpen turns an error met while opening the record into one of the errors
// above, or returns it wrapped as it is (busy, cancelled, anything else: not moved
// aside, not retried here).
func classifyOpen(path string, err error) error {
	if code, ok := sqliteCode(err); ok {
		switch code {
		case sqlite3.ErrCorrupt, sqlite3.ErrNotADB:
			return fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
		case sqlite3.ErrReadonly, sqlite3.ErrPerm, sqlite3.ErrCantOpen, sqlite3.ErrAuth:
			return fmt.Errorf("%w: %s: %v (make the data folder and the file writable by the service's account, or point data_dir at a writable disk)",
				ErrReadOnly, path, err)
		case sqlite3.ErrBusy, sqlite3.ErrLocked:
			return fmt.Errorf("store: %s is locked by another program (is another agent running on the same data folder?): %w", path, err)
		}
	}
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w: %s: %v (make the data folder writable by the service's account)", ErrReadOnly, path, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("store: opening %s was interrupted: %w", path, err)
	}
	return fmt.Errorf("store: open %s: %w", path, err)
}

// classifyWrite names the fault of a failed write: ErrDiskFull, ErrReadOnly, or the
// error as it is.
func classifyWrite(step string, err error) error {
	if code, ok := sqliteCode(err); ok {
		switch code {
		case sqlite3.ErrFull:
			return fmt.Errorf("store: %s: %w: %v (free space on the data disk; nothing of this batch was kept)", step, ErrDiskFull, err)
		case sqlite3.ErrReadonly, sqlite3.ErrPerm, sqlite3.ErrCantOpen:
			return fmt.Errorf("store: %s: %w: %v (the data disk or file became read-only; nothing of this batch was kept)", step, ErrReadOnly, err)
		case sqlite3.ErrIoErr:
			if strings.Contains(err.Error(), "full") {
				return fmt.Errorf("store: %s: %w: %v (free space on the data disk; nothing of this batch was kept)", step, ErrDiskFull, err)
			}
		}
	}
	if strings.Contains(err.Error(), "database or disk is full") {
		return fmt.Errorf("store: %s: %w: %v (free space on the data disk; nothing of this batch was kept)", step, ErrDiskFull, err)
	}
	if strings.Contains(err.Error(), "readonly database") {
		return fmt.Errorf("store: %s: %w: %v (the data disk or file became read-only; nothing of this batch was kept)", step, ErrReadOnly, err)
	}
	return fmt.Errorf("store: %s: %w", step, err)
}

// Fault is the record's storage state when it cannot take writes.
type Fault struct {
	Kind  string    `json:"kind"` // "disk_full" or "read_only"
	Since time.Time `json:"since"`
	Err   string    `json:"error"`
}

// Message is the fault in Vietnamese, for the dashboard and the counter's screens.
func (f Fault) Message() string {
	switch f.Kind {
	case "disk_full":
		return "Ổ đĩa lưu sổ ghi của máy đã đầy: không ghi thêm được. Hãy giải phóng dung lượng; máy sẽ tự ghi tiếp, không mất gì đã xác nhận."
	default:
		return "Sổ ghi của máy đang ở chế độ chỉ đọc: không ghi thêm được. Hãy báo bộ phận CNTT kiểm tra ổ đĩa và quyền ghi."
	}
}

// faults tracks whether writes are failing, so the agent says so once, counts it and
// notices by itself when it ends.
type faults struct {
	mu      sync.Mutex
	current *Fault
}

// noteWrite records the outcome of a commit and reports a change of state.
func (s *Store) noteWrite(err error) {
	kind := FaultKind(err)
	if err != nil && kind == "" {
		return // not a storage fault: the caller's problem
	}
	s.faults.mu.Lock()
	prev := s.faults.current
	switch {
	case kind == "" && prev != nil:
		s.faults.current = nil
		s.faults.mu.Unlock()
		s.log.Info("store: the record takes writes again", "fault", prev.Kind, "lasted", s.now().Sub(prev.Since).Round(time.Second).String())
		return
	case kind != "" && (prev == nil || prev.Kind != kind):
		s.faults.current = &Fault{Kind: kind, Since: s.now(), Err: err.Error()}
		s.faults.mu.Unlock()
		s.faultCount(kind).Inc()
		s.log.Error("store: the record cannot take writes; write requests are refused with 503 until it can", "fault", kind, "err", err)
		return
	}
	s.faults.mu.Unlock()
}

// Fault returns the current storage fault, or nil when writes succeed.
func (s *Store) Fault() *Fault {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if s.faults.current == nil {
		return nil
	}
	f := *s.faults.current
	return &f
}

// Probe tries a tiny durable write, so a fault that ended is noticed without waiting
// for a person's next action. Run it every few seconds while Fault is not nil.
func (s *Store) Probe(ctx context.Context) error {
	return s.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO meta(key, value) VALUES('probe', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
			s.now().UTC().Format(time.RFC3339Nano))
		return err
	})
}

// Reset says whether this record was started afresh because the previous file was
// damaged: where that file was moved, and when. It is read once, when the record is
// opened (only Open starts a record afresh).
func (s *Store) Reset() (aside string, at time.Time, ok bool) {
	return s.resetAside, s.resetAt, s.resetAside != ""
}

// loadReset reads what Open recorded about a reset.
func (s *Store) loadReset(ctx context.Context) {
	if aside, ok, _ := s.Meta(ctx, "reset.aside"); ok {
		v, _, _ := s.Meta(ctx, "reset.at")
		s.resetAt, _ = time.Parse(time.RFC3339, v)
		s.resetAside = aside
	}
}
