package emrtd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// reader is the state of one Read.
type reader struct {
	opts ReadOptions
	c    conn
	doc  *Document
	k    *chunker
	// reopen re-runs the access method that worked (after the card ended
	// secure messaging), or is nil before access.
	reopen func(ctx context.Context) error
	random io.Reader
	// lastVerified says the last file's final answer carried a good MAC.
	lastVerified bool
}

const (
	defaultMaxFile  = 1 << 20
	defaultMaxPhoto = 512 << 10
	maxSmallFile    = 64 << 10
)

// Read opens the chip with the first key that works, reads EF.COM, EF.SOD
// and the data groups, and runs passive, chip and active authentication.
// It returns an error only when no key opens the chip (an
// *AccessDeniedError), when the transport fails (the card is gone, the
// context ends) or when DG1 cannot be read; every other step's failure is a
// fact in the Document.
func Read(ctx context.Context, t Transmitter, opts ReadOptions) (*Document, error) {
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = defaultMaxFile
	}
	if opts.MaxPhotoFileSize <= 0 {
		opts.MaxPhotoFileSize = defaultMaxPhoto
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &reader{opts: opts, c: conn{t: t}, doc: &Document{Raw: map[string][]byte{}}, k: newChunker(opts.ExtendedLength, opts.FixedChunk)}
	doc, err := r.run(ctx)
	if doc != nil {
		doc.Counters = r.c.counters
	}
	return doc, err
}

func (r *reader) step(name string, start time.Time) {
	r.doc.Timings = append(r.doc.Timings, StepTiming{Step: name, Duration: time.Since(start)})
}

func (r *reader) run(ctx context.Context) (*Document, error) {
	doc := r.doc
	start := time.Now()
	if err := r.open(ctx); err != nil {
		return nil, err
	}
	r.step("access", start)

	groups := map[int][]byte{}
	readErrs := map[int]error{}
	var encrypted []int
	wanted := r.opts.DataGroups
	if wanted == nil {
		wanted = []int{1, 2, 13, 14, 15}
	}
	if err := r.structureFile(ctx, "COM", FileCOM, func(b []byte) (err error) { doc.COM, err = ParseCOM(b); return err }); err != nil {
		return nil, err
	}
	present := func(n int) bool {
		if doc.COM == nil {
			return true
		}
		for _, g := range doc.COM.DataGroups {
			if g == n {
				return true
			}
		}
		return false
	}
	if err := r.structureFile(ctx, "SOD", FileSOD, func(b []byte) (err error) { doc.SOD, err = ParseSOD(b); return err }); err != nil {
		return nil, err
	}
	// DG14 first: chip authentication replaces the session keys before
	// the other groups are read, so they are read under the chip's key.
	order := []int{}
	for _, n := range wanted {
		if n == 14 {
			order = append([]int{14}, order...)
		} else {
			order = append(order, n)
		}
	}
	doc.ChipAuth = Check{Status: CheckAbsent, Detail: "DG14 offers no chip authentication"}
	caPending := false
	for _, n := range order {
		if !present(n) && n != 1 {
			continue
		}
		max := r.opts.MaxFileSize
		if n != 2 && max > maxSmallFile {
			max = maxSmallFile
		} else if n == 2 {
			max = r.opts.MaxPhotoFileSize
		}
		name := fmt.Sprintf("DG%d", n)
		b, err := r.file(ctx, name, DataGroupFile(n), max)
		if caPending {
			caPending = false
			if err == nil || r.lastVerified {
				// Any answer whose MAC verified under the new keys proves
				// the chip holds the chip authentication key.
				doc.ChipAuth = Check{Status: CheckPassed, Detail: "secure messaging with the chip authentication keys works"}
			} else {
				doc.ChipAuth = Check{Status: CheckFailed, Detail: "reading after chip authentication failed: " + err.Error(), Err: err}
				if r.c.dead == nil {
					// r.file re-opened the session with the access key; read again.
					b, err = r.file(ctx, name, DataGroupFile(n), max)
				}
			}
		}
		if err != nil {
			if r.c.dead != nil {
				return nil, fmt.Errorf("read %s: %w", name, err)
			}
			if n == 1 {
				return nil, fmt.Errorf("read DG1: %w", err)
			}
			if isEncrypted(err) {
				// Refused inside the secure channel that opened the other groups:
				// the 2024 card keeps some data under a key only the issuer's
				// systems hold. A fact, not a failure.
				encrypted = append(encrypted, n)
				r.fileFact(name, 0, Check{Status: CheckEncrypted, Detail: EncryptedDetail, Err: err})
				continue
			}
			// A group EF.COM lists but the card will not give is an error
			// fact; without EF.COM, "not found" just means absent.
			if !errors.Is(err, ErrFileNotFound) || doc.COM != nil {
				readErrs[n] = err
			}
			continue
		}
		groups[n] = b
		if err := r.parseGroup(n, b); err != nil {
			if n == 1 {
				return nil, fmt.Errorf("DG1: %w", err)
			}
			r.fileFact(name, len(b), Check{Status: CheckError, Detail: err.Error(), Err: err})
		}
		if n == 14 && doc.DG14 != nil {
			switch {
			case r.opts.SkipChipAuth:
				doc.ChipAuth = Check{Status: CheckSkipped}
			case len(doc.DG14.ChipAuthKeys) > 0:
				s := time.Now()
				if err := r.chipAuth(ctx, doc.DG14); err != nil {
					doc.ChipAuth = Check{Status: CheckFailed, Detail: err.Error(), Err: err}
					if r.c.dead != nil {
						return nil, fmt.Errorf("chip authentication: %w", err)
					}
					if rerr := r.reopen(ctx); rerr != nil {
						return nil, fmt.Errorf("reopen after chip authentication: %w", rerr)
					}
				} else {
					caPending = true
				}
				r.step("chip auth", s)
			}
		}
	}
	if caPending {
		doc.ChipAuth = Check{Status: CheckPassed, Detail: "chip authentication keys accepted"}
	}

	s := time.Now()
	doc.PassiveAuth = passiveAuth(doc.SOD, groups, readErrs, r.opts.Trust, r.opts.Now())
	doc.PassiveAuth.Encrypted = encrypted
	r.step("passive auth", s)

	s = time.Now()
	switch {
	case r.opts.SkipActiveAuth:
		doc.ActiveAuth = Check{Status: CheckSkipped}
	case doc.DG15 == nil:
		if slices.Contains(encrypted, 15) {
			doc.ActiveAuth = Check{Status: CheckEncrypted, Detail: "DG15 " + EncryptedDetail}
		} else if _, failed := readErrs[15]; failed {
			doc.ActiveAuth = Check{Status: CheckError, Detail: "DG15 could not be read"}
		} else {
			doc.ActiveAuth = Check{Status: CheckAbsent, Detail: "no DG15"}
		}
	default:
		doc.ActiveAuth = r.activeAuth(ctx, doc.DG15, doc.DG14)
		if r.c.dead != nil {
			return nil, fmt.Errorf("active authentication: %w", r.c.dead)
		}
	}
	r.step("active auth", s)
	return doc, nil
}

// isEncrypted tells a group the card refuses for want of a key (security status not
// satisfied, conditions of use not satisfied) from one it could not give.
func isEncrypted(err error) bool {
	return errors.Is(err, ErrSecurityStatus) || errors.Is(err, ErrConditionsNotMet)
}

// structureFile reads EF.COM or EF.SOD and parses it; a failure of either
// is a fact, and only a dead transport is returned.
func (r *reader) structureFile(ctx context.Context, name string, fid uint16, parse func([]byte) error) error {
	b, err := r.file(ctx, name, fid, maxSmallFile)
	if err != nil {
		if r.c.dead != nil {
			return fmt.Errorf("read EF.%s: %w", name, err)
		}
		return nil
	}
	if err := parse(b); err != nil {
		r.fileFact(name, len(b), Check{Status: CheckError, Detail: err.Error(), Err: err})
	}
	return nil
}

func (r *reader) parseGroup(n int, b []byte) error {
	var err error
	switch n {
	case 1:
		r.doc.DG1, err = ParseDG1(b)
	case 2:
		r.doc.DG2, err = ParseDG2(b)
	case 14:
		r.doc.DG14, err = ParseDG14(b)
	case 15:
		r.doc.DG15, err = ParseDG15(b)
	}
	return err
}

// fileFact replaces the outcome recorded for a file (a parse failure after
// a good read).
func (r *reader) fileFact(name string, size int, c Check) {
	for i := range r.doc.Files {
		if r.doc.Files[i].Name == name {
			r.doc.Files[i].Check = c
			return
		}
	}
	r.doc.Files = append(r.doc.Files, FileRead{Name: name, Size: size, Check: c})
}

// file reads one file, re-opening the session once if the card ended
// secure messaging for a benign reason (a refused chunk size). A MAC
// mismatch is not retried: the file's outcome is that error.
func (r *reader) file(ctx context.Context, name string, fid uint16, max int) ([]byte, error) {
	s := time.Now()
	defer r.step("read "+name, s)
	b, err := r.c.readFile(ctx, fid, max, r.k)
	if err != nil && errors.Is(err, errSessionLost) && r.c.dead == nil {
		if rerr := r.reopen(ctx); rerr == nil {
			b, err = r.c.readFile(ctx, fid, max, r.k)
		}
	}
	r.lastVerified = r.c.verified
	if err != nil {
		status := CheckError
		if errors.Is(err, ErrFileNotFound) {
			status = CheckAbsent
		}
		r.fileFact(name, 0, Check{Status: status, Detail: err.Error(), Err: err})
		if r.c.sm == nil && r.c.dead == nil && r.reopen != nil {
			// The card (or a MAC failure) ended secure messaging: open a
			// fresh session for the next files.
			if rerr := r.reopen(ctx); rerr != nil {
				r.c.dead = fmt.Errorf("reopen session after %s: %w", name, rerr)
			}
		}
		return nil, err
	}
	r.doc.Raw[name] = b
	r.fileFact(name, len(b), Check{Status: CheckPassed})
	return b, nil
}

// open runs access control: PACE with each key when EF.CardAccess offers
// it, then BAC with each MRZ key.
func (r *reader) open(ctx context.Context) error {
	doc := r.doc
	var attempts []AccessAttempt
	fail := func(method string, i int, err error) {
		attempts = append(attempts, AccessAttempt{Method: method, KeyIndex: i, KeyLabel: r.opts.Keys[i].Label, Err: err, Error: err.Error()})
	}
	if !r.opts.DisablePACE {
		s := time.Now()
		info := r.cardAccess(ctx)
		r.step("read CardAccess", s)
		if r.c.dead != nil {
			return fmt.Errorf("read EF.CardAccess: %w", r.c.dead)
		}
		if pace := choosePACE(info); pace != nil {
			for i, k := range r.opts.Keys {
				method := MethodPACEMRZ
				if k.IsCAN() {
					method = MethodPACECAN
				}
				key := k
				try := func(ctx context.Context) error {
					if err := r.c.pace(ctx, *pace, key, r.random); err != nil {
						return err
					}
					return r.c.selectApplet(ctx)
				}
				err := try(ctx)
				if r.c.dead != nil {
					return fmt.Errorf("%s: %w", method, r.c.dead)
				}
				if err != nil {
					fail(method, i, err)
					continue
				}
				p := *pace
				doc.Access = AccessResult{Method: method, KeyIndex: i, KeyLabel: k.Label, PACE: &p}
				r.reopen = try
				doc.Access.Attempts = attempts
				return nil
			}
		}
	}
	if !r.opts.DisableBAC {
		for i, k := range r.opts.Keys {
			if k.IsCAN() {
				continue
			}
			key := k
			try := func(ctx context.Context) error {
				r.c.sm = nil
				if err := r.c.selectApplet(ctx); err != nil {
					return err
				}
				return r.c.bac(ctx, key, r.random)
			}
			err := try(ctx)
			if r.c.dead != nil {
				return fmt.Errorf("BAC: %w", r.c.dead)
			}
			if err != nil {
				fail(MethodBAC, i, err)
				continue
			}
			doc.Access = AccessResult{Method: MethodBAC, KeyIndex: i, KeyLabel: k.Label, Attempts: attempts}
			r.reopen = try
			return nil
		}
	}
	return &AccessDeniedError{Attempts: attempts}
}

// cardAccess reads and parses EF.CardAccess outside secure messaging; nil
// when the card has none or it does not parse.
func (r *reader) cardAccess(ctx context.Context) *SecurityInfos {
	b, err := r.c.readFile(ctx, FileCardAccess, maxSmallFile, newChunker(false, 0))
	if err != nil && r.c.dead == nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
		// Some cards answer a SELECT outside their applet with 6D00 or 6A82 (they
		// have no addressable MF, or the applet is selected at reset); READ BINARY
		// with the short file identifier needs no SELECT.
		b, err = r.c.readFileSFI(ctx, FileCardAccess, maxSmallFile)
	}
	if err != nil {
		return nil
	}
	r.doc.Raw["CardAccess"] = b
	info, err := ParseCardAccess(b)
	if err != nil {
		r.fileFact("CardAccess", len(b), Check{Status: CheckError, Detail: err.Error(), Err: err})
		return nil
	}
	r.fileFact("CardAccess", len(b), Check{Status: CheckPassed})
	return info
}
