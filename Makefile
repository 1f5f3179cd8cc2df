# dbg: the Falco Driver Build Grid. `make help` lists the targets.
GO        ?= go
BIN       ?= bin/dbg
FUZZTIME  ?= 15s
export GONOSUMDB := github.com/falcosecurity
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c

.PHONY: help build tools cosign test unit fuzz lint bench quickstart run validate plan image image-arm64 images images-arm64 clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "%-12s %s\n", $$1, $$2}'

build: ## build bin/dbg
	$(GO) build -o $(BIN) ./cmd/dbg

# The real driver sources beside the repository (../shared/data/libs), when
# there and DBG_LIBS_DIR is unset: the quickstart then builds from them
# instead of GitHub's archive.
LIBS_BESIDE := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))../shared/data/libs)
export DBG_LIBS_DIR ?= $(if $(wildcard $(LIBS_BESIDE)/SHA256SUMS),$(LIBS_BESIDE))

quickstart: ## the main job on local defaults: the real Falco driver for 6 Debian kernels into out/
	$(GO) run ./deploy/quickstart -out out

image: ## make the local builder image dbg-builder:bookworm-amd64 (alias dbg-builder:bookworm) (idempotent, cached)
	bash deploy/builder/build-image.sh

image-arm64: ## make dbg-builder:bookworm-arm64; on x86_64 through qemu-user (deploy/builder/binfmt.sh)
	bash deploy/builder/build-image.sh "" arm64

# The Debian releases with a builder image (grid.DefaultBuilders: gcc 10, 12, 14, 16).
RELEASES := bullseye bookworm trixie sid

images: ## make the amd64 builder image of every Debian release: dbg-builder:{bullseye,bookworm,trixie,sid}-amd64 (idempotent, cached)
	for r in $(RELEASES); do bash deploy/builder/build-image.sh "" amd64 $$r; done

images-arm64: ## make the arm64 builder images of every Debian release (on x86_64 under qemu-user: ~4 min each the first time)
	for r in $(RELEASES); do bash deploy/builder/build-image.sh "" arm64 $$r; done

run: validate plan ## validate and plan kernels/ (no build)

validate: build ## check every config in kernels/
	./$(BIN) validate

plan: build ## print the build plan of kernels/ and its counts
	./$(BIN) plan
	./$(BIN) stats

GOBIN_DIR := $(shell $(GO) env GOPATH)/bin
export PATH := $(GOBIN_DIR):$(PATH)

# cosign signs each prefix's SHA256SUMS (dbg sign; the publish workflow
# installs it with `make cosign`) and checks signatures in the tests. One pin,
# here: publisher/cosigntest.Install and the workflow test check it.
COSIGN_VERSION := v2.6.5

cosign: ## install cosign $(COSIGN_VERSION) into GOPATH/bin, idempotently (built from the Go module proxy: a few minutes)
	@v="$$(cosign version 2>/dev/null | awk '/^GitVersion:/ {print $$2}' || true)"; \
	if [ "$$v" != "$(COSIGN_VERSION)" ]; then echo "installing cosign $(COSIGN_VERSION) (have: $${v:-none})"; $(GO) install github.com/sigstore/cosign/v2/cmd/cosign@$(COSIGN_VERSION); fi
	@cosign version | awk '/^GitVersion:/ {print "cosign " $$2}'

tools: cosign ## install the test tools, idempotently: versitygw (S3 server), actionlint, shellcheck, jq, cosign, chromium (the finder page tests), qemu and busybox (boot check)
	@command -v versitygw >/dev/null || { echo "installing versitygw"; $(GO) install github.com/versity/versitygw/cmd/versitygw@v1.8.0; }
	@command -v actionlint >/dev/null || { echo "installing actionlint"; $(GO) install github.com/rhysd/actionlint/cmd/actionlint@v1.7.7; }
	@command -v shellcheck >/dev/null || { echo "installing shellcheck"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null; }; }
	@command -v jq >/dev/null || { echo "installing jq"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null; }; }
	@command -v chromium >/dev/null || { echo "installing chromium"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; }
	@command -v qemu-system-x86_64 >/dev/null && command -v qemu-system-aarch64 >/dev/null && command -v busybox >/dev/null || { echo "installing qemu and busybox-static"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-x86 qemu-system-arm busybox-static >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-x86 qemu-system-arm busybox-static >/dev/null; }; }
	@bash deploy/boot/fetch-busybox.sh arm64

test: tools lint unit fuzz ## everything CI runs: lint (with actionlint), all tests, a short fuzz run

unit: ## all Go tests, with the race detector
	$(GO) test -race -count=1 -timeout 60m ./...

fuzz: ## fuzz the config decoder briefly (FUZZTIME)
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./config

lint: tools ## gofmt check, go vet, actionlint on the workflows
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	actionlint

bench: ## benchmarks: load+plan of 20,000 configs; real builds at --jobs 1 and 2; no-op run over 20,000 published artifacts; the driver finder site of 69,204 artifacts
	$(GO) test -run '^$$' -bench LoadPlan20k -benchtime 5x ./grid
	$(GO) test -run '^$$' -bench Generate -benchtime 3x ./config
	$(GO) test -run '^$$' -bench BenchmarkBuild -benchtime 1x -timeout 60m ./grid 2>/dev/null | grep -E '^(Benchmark|ok|FAIL|PASS)'
	$(GO) test -run '^$$' -bench NoopRun20k -benchtime 3x ./cmd/dbg 2>/dev/null | grep -E '^(Benchmark|ok|FAIL|PASS)'
	$(GO) test -run '^$$' -bench WriteSite69k -benchtime 3x ./publisher


clean: ## remove build outputs
	rm -rf bin out
