# Rendercast: `make run` and `make test` are the two commands a newcomer needs.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
GOFLAGS_EGL := -tags egl
BIN := bin

.PHONY: all setup build run test test-short vet fmt bench fuzz soak image clean

all: build

setup:
	@bash scripts/setup.sh

build: setup
	@mkdir -p $(BIN)
	$(GO) build $(GOFLAGS_EGL) -o $(BIN)/ ./cmd/...

run: build
	@bash scripts/run.sh $(ARGS)

# Every test, with the race detector. Timeouts are generous: CI machines are shared.
test: setup
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet $(GOFLAGS_EGL) ./...
	$(GO) test $(GOFLAGS_EGL) -race -count=1 -timeout 30m ./...

test-short: setup
	$(GO) test $(GOFLAGS_EGL) -short -count=1 ./...

bench: setup
	@bash scripts/bench.sh

fuzz: setup
	@bash scripts/fuzz.sh

# Long run under load (SOAK_DURATION, default 10m): fails on growth; writes out/soak/.
soak: setup
	@bash scripts/soak.sh

# The container image from docker/Dockerfile, with podman.
image: setup
	@bash scripts/image.sh

clean:
	rm -rf $(BIN)
