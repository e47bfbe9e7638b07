# Rendercast: `make run` and `make test` are the two commands a newcomer needs.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
GOFLAGS_EGL := -tags egl
BIN := bin

.PHONY: all setup build run test test-short vet fmt bench bench-spectators linklab fuzz soak image gpu-bundle clean

all: build

setup:
	@bash scripts/setup.sh

build: setup
	@mkdir -p $(BIN)
	$(GO) build $(GOFLAGS_EGL) -o $(BIN)/ ./cmd/...

run: build
	@bash scripts/run.sh $(ARGS)

# Every test, with the race detector. Timeouts are generous: CI machines are shared. The
# link lab's streamer tests (viewers behind rate-limited links: frame rates and call-to-frame
# latencies compared between viewers) run on their own after the others, as does the
# container image's test (./docker): its build loads every core for minutes when nothing is
# cached, and the frame-rate checks of the others must not share them.
test: setup
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet $(GOFLAGS_EGL) ./...
	$(GO) test $(GOFLAGS_EGL) -race -count=1 -timeout 30m -skip 'TestLinkLab(RTMP|WebRTC)$$' $$($(GO) list ./... | grep -v '/docker$$')
	$(GO) test $(GOFLAGS_EGL) -race -count=1 -timeout 30m -run 'TestLinkLab(RTMP|WebRTC)$$' ./cmd/streamer
	cd deploy/chartcheck && $(GO) vet ./... && $(GO) test -count=1 ./...
	$(GO) test $(GOFLAGS_EGL) -race -count=1 -timeout 30m ./docker

test-short: setup
	$(GO) test $(GOFLAGS_EGL) -short -count=1 ./...

bench: setup
	@bash scripts/bench.sh

# Fan-out of one shared session against nginx-rtmp (rtmpbench -suites spectators, a few
# minutes; docs/PERFORMANCE.md): writes out/spectators/.
bench-spectators: setup
	@BENCH_OUT=$${BENCH_OUT:-out/spectators} BENCH_ARGS="-suites spectators $${BENCH_ARGS:-}" GOBENCH=0 bash scripts/bench.sh

# Viewers behind 1, 2 and 5 Mbit/s links and an unthrottled one, RTMP and WebRTC (network
# namespaces and tc tbf; root; about 4 minutes): prints a table per transport
# (docs/PERFORMANCE.md, "Link lab").
linklab: setup
	$(GO) test -count=1 ./internal/linklab
	$(GO) test $(GOFLAGS_EGL) -count=1 -v -run LinkLab ./cmd/streamer

fuzz: setup
	@bash scripts/fuzz.sh

# Long run under load with attackers from other loopback addresses (SOAK_DURATION, default
# 10m; SOAK_ATTACK_RTMP=0 SOAK_ATTACK_WHEP=0 for none, see scripts/soak.sh): fails on
# growth or an honest viewer under 29 fps; writes out/soak/.
soak: setup
	@bash scripts/soak.sh

# Binaries, test binaries and their libraries for a GPU host with only the NVIDIA driver
# (scripts/gpu/README.md): bash .gpu/run-checks.sh OUTDIR there.
gpu-bundle: setup
	@bash scripts/gpu/bundle.sh .gpu

# The container image from docker/Dockerfile, with podman.
image: setup
	@bash scripts/image.sh

clean:
	rm -rf $(BIN)
