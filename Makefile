# lvs-ha — see README.md. `make test` runs every tier; CI runs it through .ci/run.
SHELL    := /bin/bash
GO       ?= go
BUILD    := build
BIN      := $(BUILD)/bin
PKG      := github.com/lvs-ha/lvs-ha
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X $(PKG)/internal/buildinfo.Version=$(VERSION)
FUZZTIME ?= 60s
# Packages whose tests need root and network namespaces (the netns tier).
NETNS_PKGS := ./internal/netlab/... ./internal/realserver/... ./integration/...
UNIT_PKGS   = $(shell $(GO) list ./... | grep -v -e /integration -e /internal/netlab -e /internal/realserver)

.PHONY: all build test test-unit test-netns test-vm bench fuzz demo lint clean help

all: build

help:
	@echo "make build       build $(BIN)/lvs-ha"
	@echo "make test        all tiers: lint, unit, fuzz smoke, netns (root), VM (qemu)"
	@echo "make test-unit   unit tests (no root)"
	@echo "make test-netns  network-namespace tests (root)"
	@echo "make test-vm     tests that need kernel IPVS, inside a qemu VM"
	@echo "make bench       benchmarks"
	@echo "make fuzz        every fuzz target for FUZZTIME (default $(FUZZTIME))"
	@echo "make demo        the lab drill (in the VM tier when the host kernel has no ip_vs)"

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/lvs-ha ./cmd/lvs-ha

test: lint test-unit test-netns test-vm
	@$(MAKE) --no-print-directory fuzz FUZZTIME=15s FUZZTIME_PARSER=60s

test-unit:
	LVSHA_REQUIRE_SAMPLES=1 LVSHA_REQUIRE_PROMTOOL=1 $(GO) test -count=1 $(UNIT_PKGS)

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

# The lab drill. Where the host kernel has IP_VS it runs in namespaces on the host
# (integration/demo_test.go); otherwise inside the VM tier (integration/vmdemo,
# examples/keepalived-lab.conf, image in $(BUILD)/vm-demo), printing only the timeline.
DEMO_VM_DIR := $(CURDIR)/$(BUILD)/vm-demo
demo: build
	@if [ "$$(id -u)" != 0 ]; then echo "make demo needs root (it builds a network-namespace lab)"; exit 1; fi
	@set -o pipefail; \
	if modprobe -q ip_vs 2>/dev/null; test -e /proc/net/ip_vs; then \
	  LVSHA_DEMO=1 LVSHA_BIN=$(CURDIR)/$(BIN)/lvs-ha $(GO) test -count=1 -v -run "^TestDemo$$" ./integration/ \
	    | grep -v -e "^=== RUN" -e "^--- PASS" -e "^PASS$$" -e "^ok "; \
	else \
	  export VM_BUILD_DIR=$(DEMO_VM_DIR) VM_PKGS=./integration/vmdemo VM_TIMEOUT=$${VM_TIMEOUT:-600} \
	    VM_TESTFLAGS='-lvsha.demo -test.run=^TestDemo$$'; \
	  mkdir -p $$VM_BUILD_DIR; log=$$VM_BUILD_DIR/demo.log; \
	  deb=$$(ls -1 $(CURDIR)/$(BUILD)/vm/linux-image-*.deb 2>/dev/null | sort -V | tail -n1); \
	  if [ -z "$${VM_KERNEL_DEB:-}" ] && [ -n "$$deb" ]; then export VM_KERNEL_DEB=$$deb; fi; \
	  echo "make demo: this kernel has no ip_vs; the lab runs in the VM tier (qemu; image in $$VM_BUILD_DIR)"; \
	  if ! { bash integration/vm/build kernel && bash integration/vm/build initramfs; } >$$log 2>&1; then \
	    tail -n 30 $$log; echo "make demo: building the VM image failed (log: $$log)"; exit 1; fi; \
	  trap 'pkill -TERM -f -- "-initrd $$VM_BUILD_DIR/initramfs.cpio.gz"; echo "make demo: interrupted; the VM is stopped"; exit 130' INT TERM; \
	  bash integration/vm/run 2>&1 | tee -a $$log | grep --line-buffered -E '^\[ *[0-9]+\.[0-9]+s\] '; rc=$${PIPESTATUS[0]}; \
	  if [ $$rc != 0 ]; then \
	    grep -v -E '^\[ *[0-9]+\.[0-9]+s\] ' $$log | tail -n 40; echo "make demo: FAIL (console: $$VM_BUILD_DIR/console.log)"; exit 1; fi; \
	  grep '^test-vm: PASS' $$log | sed 's/^test-vm: PASS: 1 package(s) ok; /make demo: PASS in the VM tier; /'; \
	fi

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files -o --exclude-standard '*.go' 2>/dev/null)); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags vm ./...

clean:
	rm -rf $(BUILD)

-include mk/*.mk
