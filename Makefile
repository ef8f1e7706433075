# motcua-agent: the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X motcua-agent/agent/app.Version=$(VERSION)
# The agent's and the hub's main packages: the one place their paths are written.
MAIN    ?= ./agent/cmd/motcua-agent
HUBMAIN ?= ./sync/cmd/motcua-hub
# `make install` puts the binary in $(PREFIX)/bin: /usr/local as root, ~/.local otherwise.
PREFIX  ?= $(if $(filter 0,$(shell id -u)),/usr/local,$(HOME)/.local)
# `make dist` writes the .deb and motcua-agent-setup.exe here.
DIST    ?= dist
# Fuzz targets run for this long each inside `make test` (CI); longer with `make fuzz FUZZTIME=5m`.
FUZZTIME ?= 5s

.PHONY: build build-hub build-windows run test lint test-go fuzz bench clean deps-run deps-test dist dist-deb dist-windows install

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/motcua-agent $(MAIN)

# The provincial hub, its own program (the counter's binary does not carry it).
build-hub:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/motcua-hub $(HUBMAIN)

# Windows: cgo (SQLite) cross-compiled with mingw-w64.
build-windows:
	CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc \
		$(GO) build -ldflags "$(LDFLAGS)" -o bin/motcua-agent.exe $(MAIN)

# The whole chain on one machine: the agent on the embedded demo config (simulated
# devices, data in ./demo-data, dashboard on http://127.0.0.1:8606) pushing to a
# provincial hub on http://127.0.0.1:8607 (packaging/demo/run.sh); every page printed
# with its token. Missing Debian packages are installed first (.ci/deps.sh).
run: deps-run build build-hub
	@bash packaging/demo/run.sh

# Every test: missing Debian packages installed, go vet and staticcheck, a bounded
# fuzz pass over each parser of outside bytes, the Windows cross-build, then the whole
# suite with the race detector (its summary comes last).
test: deps-test lint fuzz build-windows test-go

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

deps-run:
	@bash .ci/deps.sh run

deps-test:
	@bash .ci/deps.sh test

test-go:
	$(GO) test -race -count=1 -timeout 50m ./...

fuzz:
	@./.ci/fuzz.sh $(FUZZTIME)

# Every benchmark once; the hub's fleet load runs SQLite, PostgreSQL (a private server,
# as in the tests) and two hubs on PostgreSQL in the same run.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./... | tee bench.txt

# Installers: the Debian package (systemd unit, system user) and the Windows
# installer (NSIS); see packaging/.
dist: dist-deb dist-windows

dist-deb: build build-hub
	@bash packaging/deb/build-deb.sh bin/motcua-agent $(VERSION) $(DIST)
	@bash packaging/deb/build-deb.sh bin/motcua-hub $(VERSION) $(DIST)

dist-windows: build-windows
	@bash packaging/windows/build-installer.sh bin/motcua-agent.exe $(VERSION) $(DIST)

# motcua-agent on the PATH, so the README's `motcua-agent …` lines work as written.
install: build build-hub
	install -D -m 0755 bin/motcua-agent $(DESTDIR)$(PREFIX)/bin/motcua-agent
	install -D -m 0755 bin/motcua-hub $(DESTDIR)$(PREFIX)/bin/motcua-hub
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; *) echo "note: $(PREFIX)/bin is not on your PATH: add it (export PATH=\"$(PREFIX)/bin:\$$PATH\" in ~/.profile) or log in again";; esac

clean:
	rm -rf bin demo-data $(DIST)
