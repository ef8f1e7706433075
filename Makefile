# motcua-agent: the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
MAIN    := ./agent/cmd/motcua-agent
LDFLAGS := -X motcua-agent/agent/app.Version=$(VERSION)
# Fuzz targets run for this long each inside `make test` (CI); longer with `make fuzz FUZZTIME=5m`.
FUZZTIME ?= 5s

.PHONY: build build-windows run test lint test-go fuzz bench clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/motcua-agent $(MAIN)

# Windows: cgo (SQLite) cross-compiled with mingw-w64.
build-windows:
	CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc \
		$(GO) build -ldflags "$(LDFLAGS)" -o bin/motcua-agent.exe $(MAIN)

# The agent on the embedded demo config: simulated devices, data in ./demo-data,
# dashboard on http://127.0.0.1:8606.
run: build
	./bin/motcua-agent run

# Every test: go vet and staticcheck, a bounded fuzz pass over each parser of outside
# bytes, the Windows cross-build, then the whole suite with the race detector (its
# summary comes last).
test: lint fuzz build-windows test-go

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

test-go:
	$(GO) test -race -count=1 -timeout 50m ./...

fuzz:
	@./.ci/fuzz.sh $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./... | tee bench.txt

clean:
	rm -rf bin demo-data
