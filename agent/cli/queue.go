package cli

import (
	"context"
	"flag"
	"fmt"
	"image/png"
	"os"

	"motcua-agent/drivers/escpos"
)

var queueCommands = []command{
	{Name: "ticket", Summary: "render a sample queue ticket to PNG, as the printer prints it",
		Usage: "ticket render --out ticket.png [--width 58|80] [--raster-qr] [--bytes ticket.bin] [--config FILE]", Run: cmdTicket},
}

func cmdTicket(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "render" {
		fmt.Fprintln(os.Stderr, "usage: motcua-agent ticket render --out ticket.png [--width 58|80] [--raster-qr] [--bytes ticket.bin]")
		return 2
	}
	fs := flag.NewFlagSet("ticket render", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, false)
	out := fs.String("out", "ticket.png", "PNG file to write")
	width := fs.Int("width", 80, "paper width in mm: 58 or 80")
	rasterQR := fs.Bool("raster-qr", false, "draw the QR as part of the image instead of the printer's QR command")
	raw := fs.String("bytes", "", "also write the ESC/POS bytes to this file")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	dots := map[int]int{58: escpos.Width58, 80: escpos.Width80}[*width]
	if dots == 0 {
		fmt.Fprintln(os.Stderr, "motcua-agent: --width must be 58 or 80")
		return 2
	}
	t := escpos.Sample()
	if cf.path != "" {
		// The site's own names, so the provincial IT team sees their real layout.
		cfg, err := cf.load()
		if err != nil {
			return printConfigError(err)
		}
		t.Office = cfg.Site.Name
		if len(cfg.Queue.Services) > 0 {
			s := cfg.Queue.Services[0]
			t.Service, t.Number = s.Name, s.First+22
			t.Counters, t.Location = nil, ""
			for _, c := range cfg.Queue.Counters {
				for _, code := range c.Services {
					if code == s.Code {
						t.Counters = append(t.Counters, c.ID)
						if t.Location == "" {
							t.Location = c.Location
						}
					}
				}
			}
		}
		t.StatusURL = fmt.Sprintf("%s/ticket?n=%d&d=2026-03-02", cfg.HTTP.PublicURL, t.Number)
	}
	b, err := escpos.Render(t, escpos.Options{Width: dots, NativeQR: !*rasterQR})
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent:", err)
		return 1
	}
	if *raw != "" {
		if err := os.WriteFile(*raw, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "motcua-agent:", err)
			return 1
		}
	}
	jobs, err := escpos.Decode(b, dots)
	if err != nil || len(jobs) != 1 {
		fmt.Fprintln(os.Stderr, "motcua-agent: decode the rendered bytes:", err)
		return 1
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent:", err)
		return 1
	}
	if err := png.Encode(f, jobs[0].Image); err != nil {
		f.Close()
		fmt.Fprintln(os.Stderr, "motcua-agent: write PNG:", err)
		return 1
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent:", err)
		return 1
	}
	fmt.Printf("wrote %s (%d x %d dots, %d bytes of ESC/POS)\n", *out, jobs[0].Image.Bounds().Dx(), jobs[0].Image.Bounds().Dy(), len(b))
	return 0
}
