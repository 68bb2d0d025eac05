# arcfleet: `make demo` runs the main job on the embedded demo fleet; `make test` runs every test,
# installing what the tests need on a fresh Debian machine (run as root there).
GO      ?= go
BIN     := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build man demo test deps fmt-check vet unit scale bench bench-peers clean

all: build

# build makes the product binary only: no test equipment is linked into it.
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/arcfleet ./cmd/arcfleet

# man writes the man pages (arcfleet.1, arcfleet-COMMAND.1) into man/ from the product binary.
man: build
	$(BIN)/arcfleet man man

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

# bench-peers runs arcfleet side by side with the bare one-command SSH client (the
# floor) and parallel-ssh (when installed: Debian package pssh) on the same real
# sshd hosts and the same simulated agent (as root; ./testbed/benchpeers). Configs:
# PEERS="HOSTS/AGENT_TIME/CONCURRENCY,..." (default 100/1s/50,300/2s/100), ROUNDS (3).
# Not part of `make bench` or CI: it starts hundreds of sshd hosts for minutes.
bench-peers:
	@echo "machine: $$(nproc) cores, $$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), $$($(GO) version), load $$(cut -d' ' -f1-3 /proc/loadavg)"
	ARCFLEET_BENCH_PEERS=1 ARCFLEET_BENCH_PEERS_CONFIGS="$(PEERS)" ARCFLEET_BENCH_PEERS_ROUNDS="$(ROUNDS)" \
	  $(GO) test -run '^$$' -bench '^BenchmarkPeers$$' -benchtime 1x -timeout 60m ./testbed/benchpeers

clean:
	rm -rf $(BIN) man
