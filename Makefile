# arcfleet: `make demo` runs the main job on the embedded demo fleet; `make test` runs every test,
# installing what the tests need on a fresh Debian machine (run as root there).
GO      ?= go
BIN     := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build demo test deps fmt-check vet unit scale bench clean

all: build

# build makes the product binary only: no test equipment is linked into it.
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/arcfleet ./cmd/arcfleet

# demo builds arcfleet with -tags demo (which links the test fleet: in-process SSH
# and WinRM test hosts) and the agent simulator, then runs the demo.
demo:
	$(GO) build -tags demo -ldflags "$(LDFLAGS)" -o $(BIN)/arcfleet-demo ./cmd/arcfleet
	$(GO) build -o $(BIN)/azcmagent-sim ./testbed/azcmagent-sim
	$(BIN)/arcfleet-demo demo

# deps installs what the end-to-end tests need: OpenSSH (real sshd test hosts), sudo
# (become: sudo), python3-winrm (a second, independent WinRM client). Skipped when present.
deps:
	@./.ci/deps.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	$(GO) vet -tags demo ./...

unit:
	$(GO) test -tags demo -race -count=1 -timeout 12m ./...

# scale runs the 10,000-host test without the race detector (under -race, in unit, it runs 1,000).
scale:
	$(GO) test -count=1 -run '^TestScale10000$$' -timeout 10m ./testbed/demo

test: deps fmt-check vet unit scale

# bench runs every benchmark once, one package at a time (they time wall clock
# and share the machine's cores), echoes go test's output and ends with a table
# (./testbed/benchtable). The figures and the machine go into the README's Benchmarks section.
bench:
	@{ echo "machine: $$(nproc) cores, $$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), $$($(GO) version)"; \
	  $(GO) test -p 1 -run '^$$' -bench . -benchtime 1x -timeout 30m ./... 2>&1; } | $(GO) run ./testbed/benchtable

clean:
	rm -rf $(BIN)
