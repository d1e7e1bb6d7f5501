# The README's Quick start: `make demo` then `make test`. Both install their own dependencies.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo

.PHONY: deps build demo test test-unit test-e2e generate bench lint-self clean-lab

deps:
	@scripts/install-deps.sh

build: deps
	$(CARGO) build --release --locked

# Replays the whole incident on a real DSR cluster in network namespaces (root), or, where
# namespaces are unavailable, on the bundled incident fixtures.
demo: build
	@tests/lab/demo.sh

test: deps
	$(CARGO) test --locked --all-targets
	@tests/lab/e2e.sh

test-unit: deps
	$(CARGO) test --locked --all-targets

test-e2e: build
	@tests/lab/e2e.sh

# Regenerates completions/, man/ and README's check table from the code.
generate:
	LBDOCTOR_BLESS=1 $(CARGO) test --locked --test generated

bench: build
	@benches/run.sh

clean-lab:
	@tests/lab/lab.sh teardown
