# lvs-ha — see README.md. `make test` runs every tier; CI runs it through .ci/run.
SHELL    := /bin/bash
# go from PATH, else the machine images' /usr/local/go/bin (also put on PATH
# for the scripts the recipes run); `make deps` says how to get it if neither.
PATH_GO  := $(shell command -v go 2>/dev/null)
ifeq ($(PATH_GO),)
ifneq ($(wildcard /usr/local/go/bin/go),)
export PATH := /usr/local/go/bin:$(PATH)
endif
endif
GO       ?= $(or $(PATH_GO),$(wildcard /usr/local/go/bin/go),go)
BUILD    := build
BIN      := $(BUILD)/bin
PKG      := github.com/lvs-ha/lvs-ha
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X $(PKG)/internal/buildinfo.Version=$(VERSION)
# grpcnotrace leaves out gRPC's golang.org/x/net/trace (GoBGP links gRPC): it
# executes html/template, whose reflective method calls keep every exported
# method in the binary; without it the file is 30 instead of 37 MB and an idle
# daemon maps 2 MiB less of it (cmd/lvs-ha/tags_test.go).
GOTAGS   ?= grpcnotrace
FUZZTIME ?= 60s
# Packages whose tests need root and network namespaces (the netns tier).
NETNS_PKGS := ./internal/netlab/... ./internal/bgplab/... ./internal/realserver/... ./internal/doctor/... ./integration/...
UNIT_PKGS   = $(shell $(GO) list ./... | grep -v -e /integration -e /internal/netlab -e /internal/bgplab -e /internal/realserver -e /internal/doctor)

.PHONY: all deps build test test-unit test-netns test-vm bench fuzz demo demo-interrupt demo-ecmp lint clean help

all: build

help:
	@echo "make build       build $(BIN)/lvs-ha"
	@echo "make deps        install the Debian packages demo and test need, if missing"
	@echo "                 (root; else prints the apt-get command); part of both"
	@echo "make test        all tiers: lint, unit, netns (root), VM (qemu), the demo"
	@echo "                 (and Ctrl-C during it), fuzz smoke"
	@echo "make test-unit   unit tests (no root)"
	@echo "make test-netns  network-namespace tests (root)"
	@echo "make test-vm     tests that need kernel IPVS, inside a qemu VM"
	@echo "make bench       benchmarks"
	@echo "make fuzz        every fuzz target for FUZZTIME (default $(FUZZTIME))"
	@echo "make demo        the lab drill (in the VM tier when the host kernel has no ip_vs);"
	@echo "                 part of make test; Ctrl-C stops it cleanly"
	@echo "make demo-interrupt  checks that: SIGINT mid-demo, nothing left (in make test)"
	@echo "make demo-ecmp   the active-active lab: BIRD router + ECMP, three lvs-ha directors over BGP"

build:
	CGO_ENABLED=0 $(GO) build -trimpath -tags "$(GOTAGS)" -ldflags "$(LDFLAGS)" -o $(BIN)/lvs-ha ./cmd/lvs-ha

# The host packages (.ci/deps holds the list): installed when missing and
# root on Debian, else it stops with the command to run. Cheap when present.
deps:
	@LVSHA_DEPS_QUIET=1 bash .ci/deps

# The demo runs exactly as `make demo` (README), then once more interrupted.
test: deps lint test-unit test-netns test-vm
	@$(MAKE) --no-print-directory demo
	@$(MAKE) --no-print-directory demo-interrupt
	@$(MAKE) --no-print-directory fuzz FUZZTIME=15s FUZZTIME_PARSER=60s

test-unit:
	bash .ci/deps_test
	LVSHA_REQUIRE_SAMPLES=1 LVSHA_REQUIRE_PROMTOOL=1 LVSHA_REQUIRE_SYSTEMD_ANALYZE=1 $(GO) test -count=1 $(UNIT_PKGS)

test-netns: build
	@if [ "$$(id -u)" != 0 ]; then echo "test-netns needs root (network namespaces)"; exit 1; fi
	LVSHA_REQUIRE_ROOT_TESTS=1 LVSHA_BIN=$(CURDIR)/$(BIN)/lvs-ha $(GO) test -count=1 -p 1 $(NETNS_PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(UNIT_PKGS)

# Each fuzz target runs for FUZZTIME (the config parser's for FUZZTIME_PARSER);
# `go test -fuzz` takes one target per run. `make test` runs them briefly.
FUZZTIME_PARSER ?= $(FUZZTIME)
fuzz:
	@set -e -o pipefail; for f in $$(grep -rl --include='*_test.go' --exclude-dir=build '^func Fuzz' . | xargs -r dirname | sort -u); do \
	  for t in $$(grep -h -o '^func Fuzz[A-Za-z0-9_]*' $$f/*_test.go | sed 's/^func //' | sort -u); do \
	    ft=$(FUZZTIME); [ "$$f/$$t" = ./conf/syntax/FuzzParse ] && ft=$(FUZZTIME_PARSER); \
	    echo "fuzz $$f $$t ($$ft)"; \
	    out=$$(mktemp); \
	    if ! $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $$ft $$f 2>&1 | tee $$out; then \
	      if grep -q 'context deadline exceeded' $$out && ! grep -q 'Failing input written' $$out; then \
	        echo "fuzz $$f $$t: Go's fuzz coordinator timed out stopping a worker at the end of -fuzztime (no failing input): not a finding"; \
	      else rm -f $$out; exit 1; fi; \
	    fi; rm -f $$out; \
	  done; \
	done

# The lab drill (integration/demo): integration/vmdemo's TestDemo with
# examples/keepalived-lab.conf, in namespaces on the host where its kernel has
# IP_VS, otherwise inside the VM tier (image in $(BUILD)/vm-demo, printing the
# VM's boot lines too), with the same timeline. Ctrl-C stops it and leaves
# nothing behind; `make demo-interrupt` checks that (one VM boot, stopped early).
demo: deps build
	@LVSHA_BIN=$(CURDIR)/$(BIN)/lvs-ha GO=$(GO) bash integration/demo

demo-interrupt:
	@bash integration/demo-interrupt

# The active-active lab (issue 14): a BIRD router with ECMP and three lvs-ha
# directors announcing the VIP over BGP (integration/vmecmp's TestDemoECMP),
# on the host when its kernel has IP_VS, else in the VM tier (build/vm-demo-ecmp).
# `DEMO_TARGET=demo-ecmp bash integration/demo-interrupt` checks Ctrl-C.
demo-ecmp: deps build
	@DEMO=ecmp LVSHA_BIN=$(CURDIR)/$(BIN)/lvs-ha GO=$(GO) bash integration/demo

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files -o --exclude-standard '*.go' 2>/dev/null)); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags vm ./...

clean:
	rm -rf $(BUILD)

-include mk/*.mk
