package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"motcua-agent/drivers/cccd/simcard"
	"motcua-agent/drivers/emrtd/vcard"
	"motcua-agent/drivers/pcsc/vpcd"
)

// SimCardUsage is the `sim card` synopsis.
const SimCardUsage = "sim card --profile FILE [--vpcd HOST:PORT] [--fault tamper-dg13,bad-mac=N,pull-after=N,sw=INS:SW] [--delay 5ms] [--link-rate 13250] [--once]"

// SimCard is the `sim card` command: a virtual CCCD from a profile file, plugged into
// the real pcscd through vsmartcard-vpcd. When the card is pulled (a fault) or vpcd
// drops it, it is inserted again after a second, unless --once.
func SimCard(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sim card", flag.ContinueOnError)
	fs.SetOutput(stderr)
	profile := fs.String("profile", "", "citizen profile file (testdata/cards/*.json)")
	addr := fs.String("vpcd", vpcd.DefaultAddr, "where vsmartcard-vpcd listens")
	faults := fs.String("fault", "", "comma-separated faults: tamper-dg13, bad-mac=N (N-th SM answer), pull-after=N (APDUs), sw=INS:SW (hex, once)")
	delay := fs.Duration("delay", 0, "delay before each answer (a contactless link's latency)")
	rate := fs.Int("link-rate", 0, "also sleep the bytes' time at this rate in bytes/s (106 kbit/s = 13250)")
	once := fs.Bool("once", false, "exit when the card is pulled instead of inserting it again")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *profile == "" {
		fmt.Fprintln(stderr, "usage:", SimCardUsage)
		return 2
	}
	c, err := simcard.Load(*profile)
	if err != nil {
		fmt.Fprintln(stderr, "sim card:", err)
		return 1
	}
	opt, err := ParseSimFaults(*faults)
	if err != nil {
		fmt.Fprintln(stderr, "sim card:", err)
		return 2
	}
	opt.Faults.Delay, opt.Faults.LinkBytesPerSecond = *delay, *rate
	card, err := c.Card(opt)
	if err != nil {
		fmt.Fprintln(stderr, "sim card:", err)
		return 1
	}
	mrz, _ := c.MRZKey()
	for {
		slot, err := vpcd.Insert(ctx, *addr, card, vpcd.Options{})
		if err != nil {
			fmt.Fprintln(stderr, "sim card:", err)
			return 1
		}
		fmt.Fprintf(stdout, "card inserted into %q at %s: CAN %s, MRZ key %s/%s/%s (fictional)\n",
			vpcd.ReaderName(*addr), *addr, c.CAN(), mrz.DocumentNumber, mrz.DateOfBirth, mrz.DateOfExpiry)
		select {
		case <-ctx.Done():
			slot.Remove()
			fmt.Fprintln(stdout, "card removed")
			return 0
		case <-slot.Done():
		}
		fmt.Fprintf(stdout, "card pulled out after %d APDUs\n", slot.APDUs())
		if *once {
			return 0
		}
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(time.Second):
		}
		card.Reset()
	}
}

// ParseSimFaults reads the --fault list.
func ParseSimFaults(s string) (simcard.Options, error) {
	var o simcard.Options
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, val, _ := strings.Cut(f, "=")
		num := func() (int, error) {
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("fault %s: want a positive number", name)
			}
			return n, nil
		}
		var err error
		switch name {
		case "tamper-dg13":
			o.TamperDG13 = true
		case "bad-mac":
			o.Faults.BadResponseMACAt, err = num()
		case "pull-after":
			o.Faults.PullOutAfter, err = num()
		case "sw":
			ins, sw, ok := strings.Cut(val, ":")
			i, err1 := strconv.ParseUint(ins, 16, 8)
			w, err2 := strconv.ParseUint(sw, 16, 16)
			if !ok || err1 != nil || err2 != nil {
				return o, fmt.Errorf("fault sw: want INS:SW in hex, such as B0:6A82")
			}
			o.Faults.StatusWords = append(o.Faults.StatusWords, vcard.StatusFault{INS: byte(i), SW: uint16(w)})
		default:
			return o, fmt.Errorf("unknown fault %q", name)
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}
