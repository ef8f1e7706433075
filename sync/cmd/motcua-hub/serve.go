package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"motcua-agent/sync/hub"
	"motcua-agent/sync/release"
)

// fail reports err for command name and returns its exit code: 2 for a usage or
// settings problem, 1 otherwise.
func fail(stderr io.Writer, name string, err error, code int) int {
	if !errors.Is(err, errUsage) {
		fmt.Fprintf(stderr, "motcua-hub %s: %v\n", name, err)
	}
	return code
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlags("serve", stderr, "listen", "tls", "report")
	s, err := f.parse(args)
	if err != nil {
		return fail(stderr, "serve", err, 2)
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		return fail(stderr, "serve", errors.New("give both tls_cert and tls_key (--tls-cert, --tls-key), or neither"), 2)
	}
	if s.Listen == "" {
		s.Listen = "127.0.0.1:8607"
	}
	token, err := s.reportToken()
	if err != nil {
		return fail(stderr, "serve", err, 2)
	}
	if token == "" && !isLoopback(s.Listen) {
		return fail(stderr, "serve", fmt.Errorf("listening on %s without a report token would show the province's figures and fleet to anyone on the network: set report_token_file (the package makes /etc/motcua-hub/report-token), or listen on 127.0.0.1", s.Listen), 2)
	}
	db, err := s.database()
	if err != nil {
		return fail(stderr, "serve", err, 2)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	opts := hub.Options{Log: log, ReportToken: token, OpenFleet: s.OpenFleet, KeyFile: s.KeyFile, StaleAfter: time.Duration(s.StaleAfter),
		Releases: s.Releases}
	if s.Catalogue != "" {
		fh, err := os.Open(s.Catalogue)
		if err != nil {
			return fail(stderr, "serve", err, 2)
		}
		opts.Catalogue, err = hub.LoadCatalogue(fh)
		fh.Close()
		if err != nil {
			return fail(stderr, "serve", fmt.Errorf("catalogue: %w", err), 2)
		}
	}
	hub.TuneRuntime()
	h, err := hub.Open(db, opts)
	if err != nil {
		return fail(stderr, "serve", err, 1)
	}
	defer h.Close()
	if s.Upstream != "" {
		up, err := h.StartUpstreamFrom(s.Upstream)
		if err != nil {
			return fail(stderr, "serve", err, 2)
		}
		defer up.Close()
	}
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return fail(stderr, "serve", err, 1)
	}
	srv := h.Server()
	if s.Releases != "" {
		// Everything under /releases/ is signed metadata and signed targets: read-only,
		// no token. Refreshed now and hourly, so a hub that runs keeps the fleet current.
		if err := release.Refresh(s.Releases, time.Now()); err != nil {
			return fail(stderr, "serve", err, 2)
		}
		mux := http.NewServeMux()
		mux.Handle("/releases/", http.StripPrefix("/releases", release.Handler(filepath.Join(s.Releases, release.RepositoryDir))))
		mux.Handle("/", srv.Handler)
		srv.Handler = mux
		go func() {
			t := time.NewTicker(time.Hour)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-t.C:
					if err := release.Refresh(s.Releases, now); err != nil {
						log.Error("releases: refresh failed; the agents will refuse the metadata once it expires", "err", err)
					}
				}
			}
		}()
	}
	gl := hub.Listen(ln, srv, hub.DefaultConnLimits)
	scheme := "http"
	if s.TLSCert != "" {
		scheme = "https"
	}
	log.Info("hub listening", "version", version, "url", scheme+"://"+ln.Addr().String(), "db", hub.Redact(db), "reports_need_token", token != "")
	errc := make(chan error, 1)
	go func() {
		if s.TLSCert != "" {
			errc <- srv.ServeTLS(gl, s.TLSCert, s.TLSKey)
		} else {
			errc <- srv.Serve(gl)
		}
	}()
	select {
	case err := <-errc:
		return fail(stderr, "serve", err, 1)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	log.Info("hub stopped")
	return 0
}
