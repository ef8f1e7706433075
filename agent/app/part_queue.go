package app

import (
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/health"
	"motcua-agent/agent/identity"
	"motcua-agent/agent/queue"
	"motcua-agent/config"
	"motcua-agent/drivers/display"
	"motcua-agent/drivers/escpos"
	"motcua-agent/drivers/ptypair"
)

// startQueue opens the queue, its printer and call display, and registers the API and
// pages. With simulate on and no printer configured, a simulated printer on a pty pair
// prints (decodes) every ticket into the data folder.
func startQueue(ctx context.Context, a *App) (err error) {
	cfg := a.Config
	if !cfg.Queue.Enabled {
		return nil
	}
	var staffKey queue.StaffKey
	if len(cfg.Staff.Officers) > 0 {
		if staffKey, err = queue.LoadStaffKey(cfg.Staff.KeyFile); err != nil {
			a.Log.Warn("queue: officers cannot sign in", "err", err)
		}
	}
	q, err := queue.Open(ctx, queue.Options{Config: &cfg.Queue, Store: a.Store, Bus: a.Bus, Log: a.Log, Now: a.Now, Site: cfg.Site.ID,
		Staff: &cfg.Staff, StaffKey: staffKey, Sign: a.IDs.Hash})
	if err != nil {
		return err
	}
	a.Serving = func() bool { return len(q.Snapshot().Current) > 0 } // no update is applied meanwhile
	api := &queue.API{Q: q, Office: cfg.Site.Name, PublicURL: cfg.HTTP.PublicURL,
		PrintTimeout: time.Duration(cfg.Printer.TimeoutMS) * time.Millisecond}
	api.PrinterProblem = func() string {
		if d, ok := a.Health.Get("printer"); ok && d.State == health.Fault {
			return d.Message
		}
		return ""
	}
	for _, w := range cfg.Warnings() {
		a.Log.Warn("config: "+w.Msg, "path", w.Path)
	}
	pcfg := cfg.Printer
	if cfg.Simulate && pcfg.Transport == "none" {
		if pcfg, err = simulatePrinter(ctx, a, pcfg); err != nil {
			a.Log.Warn("queue: no simulated printer", "err", err)
		}
	}
	if pcfg.Transport != "none" {
		p, err := escpos.New(pcfg)
		if err != nil {
			return err
		}
		api.Print = printTickets(a, q, p, pcfg)
		a.Go(func() { watchPrinter(ctx, a, q, p) })
	}
	if err := startDisplay(ctx, a); err != nil {
		a.Log.Warn("queue: call display not started", "err", err)
	}
	if err := startKeypad(ctx, a, q); err != nil {
		a.Log.Warn("queue: call keypad not started", "err", err)
	}
	if err := startRatingKeypad(ctx, a, q); err != nil {
		a.Log.Warn("queue: rating keypad not started", "err", err)
	}
	watchCards(ctx, a, api)
	watchOfficerCards(ctx, a, q)
	api.Register(a.Web)
	po := queue.PageOptions{Voice: *cfg.Display.Voice, Health: a.Health, Now: a.Now}
	for _, c := range cfg.Queue.Counters {
		po.Counters = append(po.Counters, c.ID)
	}
	po.Ratings, po.Officers = cfg.Queue.Rating.Enabled, len(cfg.Staff.Officers) > 0
	queue.RegisterPages(a.Web, po)
	return nil
}

// printTickets renders and prints a slip, keeping the printer's health up to date.
func printTickets(a *App, q *queue.Queue, p *escpos.Printer, pcfg config.Printer) queue.PrintFunc {
	return func(ctx context.Context, s queue.Slip) error {
		b, err := escpos.Render(escpos.Ticket{Office: s.Office, Service: s.Service, Number: s.Number, Priority: s.Priority,
			Issued: s.Issued, Ahead: s.Ahead, EstimateMin: int(s.Estimate / time.Minute), StatusURL: s.StatusURL,
			Counters: s.Counters, Location: s.Location}, escpos.Options{Width: p.Width(), NativeQR: *pcfg.NativeQR})
		if err != nil {
			return err
		}
		err = p.Print(ctx, b)
		setPrinterHealth(a, q, err)
		return err
	}
}

// setPrinterHealth shows the printer's state on the dashboard; a new fault also goes into
// the day's alert history.
func setPrinterHealth(a *App, q *queue.Queue, err error) {
	before, _ := a.Health.Get("printer")
	d := health.Device{Name: "printer", Kind: "printer", State: health.OK, Message: "Máy in phiếu sẵn sàng"}
	switch {
	case err == nil:
	case errors.Is(err, escpos.ErrPaperOut):
		d.State, d.Detail, d.Message = health.Fault, err.Error(), "Máy in phiếu hết giấy"
	case errors.Is(err, escpos.ErrUnplugged):
		d.State, d.Detail, d.Message = health.Fault, err.Error(), "Máy in phiếu chưa được kết nối"
	default:
		d.State, d.Detail, d.Message = health.Fault, err.Error(), "Máy in phiếu gặp sự cố"
	}
	a.Health.Set(d)
	if d.State == health.Fault && (before.State != health.Fault || before.Message != d.Message) {
		actx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := q.Alert(actx, d.Message); err != nil {
			a.Log.Warn("queue: alert not recorded", "err", err)
		}
		cancel()
	}
}

// watchPrinter asks the printer's status every 20 s, so a fault shows on the dashboard
// before the next citizen finds it.
func watchPrinter(ctx context.Context, a *App, q *queue.Queue, p *escpos.Printer) {
	t := time.NewTicker(20 * time.Second)
	defer t.Stop()
	check := func() {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := p.Status(cctx)
		cancel()
		switch {
		case err == nil && st.Out:
			setPrinterHealth(a, q, escpos.ErrPaperOut)
		case err == nil, errors.Is(err, os.ErrDeadlineExceeded):
			setPrinterHealth(a, q, nil) // no answer: status reporting off, not a fault
		case errors.Is(err, escpos.ErrUnplugged):
			setPrinterHealth(a, q, err)
		}
	}
	check()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			check()
		}
	}
}

// simulatePrinter makes a pty pair and a printer simulator on its far end; decoded
// tickets are saved as PNG in <data>/printer-sim/. Creating the file
// <data>/printer-sim/paper-out makes the simulator report no paper.
func simulatePrinter(ctx context.Context, a *App, pcfg config.Printer) (config.Printer, error) {
	pair, dir, err := simulatedLine(ctx, a, "printer-sim", "printer")
	if err != nil {
		return pcfg, err
	}
	dev, err := os.OpenFile(pair.Host, os.O_RDWR, 0)
	if err != nil {
		return pcfg, err
	}
	width := escpos.Width80
	if pcfg.PaperWidthMM == 58 {
		width = escpos.Width58
	}
	n := 0
	sim := &escpos.Simulator{Width: width,
		Paper: func() escpos.PaperStatus {
			_, err := os.Stat(filepath.Join(dir, "paper-out"))
			return escpos.PaperStatus{Out: err == nil}
		},
		OnJob: func(j escpos.Job) {
			n++
			path := filepath.Join(dir, fmt.Sprintf("ticket-%04d.png", n))
			// Written aside then renamed, so a reader never sees half a picture.
			if f, err := os.Create(path + ".tmp"); err == nil {
				png.Encode(f, j.Image)
				f.Close()
				os.Rename(path+".tmp", path)
			}
			a.Log.Info("simulated printer: ticket printed", "file", path, "rows", j.Image.Bounds().Dy())
		},
		OnError: func(err error) { a.Log.Warn("simulated printer: unreadable bytes", "err", err) },
	}
	a.Go(func() {
		go func() { <-ctx.Done(); dev.Close() }()
		sim.Run(ctx, dev)
	})
	a.Log.Info("simulated printer on a pty pair", "device", pair.Device)
	pcfg.Transport, pcfg.Device = "serial", pair.Device
	return pcfg, nil
}

// startDisplay sends each call to the serial call display (or, simulated, logs the
// line a board would have shown).
func startDisplay(ctx context.Context, a *App) error {
	dcfg := a.Config.Display
	dev := dcfg.Device
	if dev == "" && a.Config.Simulate {
		pair, _, err := simulatedLine(ctx, a, "display-sim", "display")
		if err != nil {
			return err
		}
		far, err := os.Open(pair.Host)
		if err != nil {
			return err
		}
		a.Go(func() {
			go func() { <-ctx.Done(); far.Close() }()
			buf := make([]byte, 256)
			for {
				n, err := far.Read(buf)
				if n > 0 {
					a.Log.Info("simulated call display", "line", fmt.Sprintf("%q", buf[:n]))
				}
				if err != nil {
					return
				}
			}
		})
		dev = pair.Device
	}
	if dev == "" {
		return nil
	}
	board := display.NewBoard(dcfg.LineFormat, func() (io.WriteCloser, error) {
		return os.OpenFile(dev, os.O_WRONLY, 0)
	})
	board.OnError = func(err error) {
		a.Health.Set(health.Device{Name: "call-display", Kind: "display", State: health.Fault, Detail: err.Error(),
			Message: "Bảng gọi số không nhận lệnh"})
	}
	board.OnWrite = func(string) {
		a.Health.Set(health.Device{Name: "call-display", Kind: "display", State: health.OK, Message: "Bảng gọi số hoạt động"})
	}
	a.Go(func() { board.Run(ctx) })
	onBus(ctx, a, queue.Topic, func(m bus.Message) {
		if c, ok := m.Public.(queue.Change); ok && (c.Action == "called" || c.Action == "recalled") {
			board.Call(c.Number, c.Counter)
		}
	})
	return nil
}

// startKeypad reads a serial call keypad. With simulate on and none configured, the
// keypad is a pty pair: write "3 NEXT" to <data>/display-sim/keypad.host to press a key.
func startKeypad(ctx context.Context, a *App, q *queue.Queue) error {
	dev := a.Config.Display.Keypad
	if dev == "" && a.Config.Simulate {
		pair, _, err := simulatedLine(ctx, a, "display-sim", "keypad")
		if err != nil {
			return err
		}
		a.Log.Info("simulated call keypad: write lines like \"3 NEXT\" to its device", "device", pair.Host)
		dev = pair.Device
	}
	if dev == "" {
		return nil
	}
	f, err := os.OpenFile(dev, os.O_RDONLY, 0)
	if err != nil {
		a.Health.Set(health.Device{Name: "call-keypad", Kind: "display", State: health.Fault, Detail: err.Error(),
			Message: "Bàn phím gọi số chưa được kết nối"})
		return err
	}
	a.Health.Set(health.Device{Name: "call-keypad", Kind: "display", State: health.OK, Message: "Bàn phím gọi số sẵn sàng"})
	a.Go(func() {
		go func() { <-ctx.Done(); f.Close() }()
		err := display.ReadKeypad(ctx, f, func(c display.KeypadCommand) {
			t, err := q.Press(ctx, c.Counter, c.Action, c.Number)
			if err != nil {
				a.Log.Info("call keypad: key refused", "counter", c.Counter, "key", c.Action, "err", err)
				return
			}
			a.Log.Info("call keypad", "counter", c.Counter, "key", c.Action, "number", t.Number)
		}, func(err error) { a.Log.Warn("call keypad: unreadable line", "err", err) })
		if ctx.Err() == nil {
			a.Log.Warn("call keypad: line closed", "err", err)
			a.Health.Set(health.Device{Name: "call-keypad", Kind: "display", State: health.Fault, Detail: fmt.Sprint(err),
				Message: "Bàn phím gọi số bị ngắt kết nối"})
		}
	})
	return nil
}

// watchCards hands an ID card read at a kiosk to the queue's priority rule
// (queue.API.CardRead): the birth date goes no further than the queue's comparison.
func watchCards(ctx context.Context, a *App, api *queue.API) {
	onBus(ctx, a, identity.TopicIdentity, func(m bus.Message) {
		st, _ := m.Public.(identity.Status)
		holder, _ := m.Personal.(identity.Person)
		api.CardRead(st.Counter, holder.Birth)
	})
}

// watchOfficerCards signs an officer in when their own ID card is verified on a
// counter's reader. The number from the chip is compared as the staff key's hash and
// dropped; a citizen's card changes nothing. Neither number nor name is logged.
func watchOfficerCards(ctx context.Context, a *App, q *queue.Queue) {
	if len(a.Config.Staff.Officers) == 0 {
		return
	}
	onBus(ctx, a, identity.TopicIdentity, func(m bus.Message) {
		st, _ := m.Public.(identity.Status)
		holder, _ := m.Personal.(identity.Person)
		if st.State != "done" || st.Outcome != identity.OutcomeOK || holder.ID == "" {
			return
		}
		if _, ok, err := q.SignInCard(ctx, st.Counter, holder.ID); err != nil {
			a.Log.Warn("queue: officer's card sign-in not recorded", "counter", st.Counter, "err", err)
		} else if ok {
			a.Log.Info("queue: officer signed in by card", "counter", st.Counter)
		}
	})
}

// startRatingKeypad reads the counters' rating keypads ("3 RATE 4": rate the ticket
// counter 3 finished last). With simulate on, ratings on and none configured, it is a
// pty pair: write "3 RATE 5" to <data>/display-sim/rating-keypad.host.
func startRatingKeypad(ctx context.Context, a *App, q *queue.Queue) error {
	dev := a.Config.Display.RatingKeypad
	if dev == "" && a.Config.Simulate && a.Config.Queue.Rating.Enabled {
		pair, _, err := simulatedLine(ctx, a, "display-sim", "rating-keypad")
		if err != nil {
			return err
		}
		a.Log.Info("simulated rating keypad: write lines like \"3 RATE 5\" to its device", "device", pair.Host)
		dev = pair.Device
	}
	if dev == "" {
		return nil
	}
	f, err := os.OpenFile(dev, os.O_RDONLY, 0)
	if err != nil {
		a.Health.Set(health.Device{Name: "rating-keypad", Kind: "display", State: health.Fault, Detail: err.Error(),
			Message: "Bàn phím đánh giá chưa được kết nối"})
		return err
	}
	a.Health.Set(health.Device{Name: "rating-keypad", Kind: "display", State: health.OK, Message: "Bàn phím đánh giá sẵn sàng"})
	a.Go(func() {
		go func() { <-ctx.Done(); f.Close() }()
		err := display.ReadKeypad(ctx, f, func(c display.KeypadCommand) {
			if c.Action != "rate" {
				// The citizen's keypad never calls or finishes a ticket.
				a.Log.Info("rating keypad: key refused", "counter", c.Counter, "key", c.Action)
				return
			}
			rt, err := q.RateLast(ctx, c.Counter, c.Level, queue.ChannelKeypad)
			if err != nil {
				a.Log.Info("rating keypad: rating refused", "counter", c.Counter, "err", err)
				return
			}
			a.Log.Info("rating keypad: ticket rated", "counter", c.Counter, "number", rt.Number)
		}, func(err error) { a.Log.Warn("rating keypad: unreadable line", "err", err) })
		if ctx.Err() == nil {
			a.Log.Warn("rating keypad: line closed", "err", err)
			a.Health.Set(health.Device{Name: "rating-keypad", Kind: "display", State: health.Fault, Detail: fmt.Sprint(err),
				Message: "Bàn phím đánh giá bị ngắt kết nối"})
		}
	})
	return nil
}

// onBus calls fn with each message of a topic until ctx ends.
func onBus(ctx context.Context, a *App, topic string, fn func(bus.Message)) {
	sub := a.Bus.Subscribe(64, topic)
	a.Go(func() { sub.Each(ctx, fn) })
}

// simulatedLine makes a pty pair in <data>/<folder> for a simulated device; socat is
// stopped when ctx ends. It returns the pair and the folder.
func simulatedLine(ctx context.Context, a *App, folder, name string) (*ptypair.Pair, string, error) {
	dir := filepath.Join(a.Config.DataDir, folder)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, "", err
	}
	pair, err := ptypair.Open(ctx, dir, name)
	if err != nil {
		return nil, "", err
	}
	a.Go(func() { <-ctx.Done(); pair.Close() })
	return pair, dir, nil
}
