# gridtop: the two commands a new user needs are `make demo` and `make test`.
SWIFT ?= swift
BIN := .build/debug/gridtop

.PHONY: all deps build demo test bench bench-quick clean

all: build

deps:
	@./scripts/install-deps.sh

build: deps
	$(SWIFT) build --product gridtop

## Start gridtop on its embedded simulated network (press q to quit).
## SCENARIO picks the incident timeline (docs/scenarios.md); SCENARIO= gives the classic single theft.
SCENARIO ?= scenarios/demo.toml
demo: build
	$(BIN) demo $(if $(SCENARIO),--scenario $(SCENARIO)) $(DEMO_ARGS)

## Build and run every test: unit tests, real-socket tests, tmux end-to-end tests, and the
## end-to-end tests against a real EVM (py-evm, pinned, installed into .build/evm-venv).
test: deps
	@./scripts/evm-venv.sh
	$(SWIFT) build --build-tests
	$(SWIFT) test

## Speed and memory targets (release build); results go in docs/benchmarks.md.
## The web3.py comparison needs .build/bench-venv (made here if missing; the bench says so if it cannot be).
bench: deps
	@./scripts/bench-web3-setup.sh
	$(SWIFT) build -c release --product GridtopBench
	.build/release/GridtopBench

bench-quick: deps
	@./scripts/bench-web3-setup.sh
	$(SWIFT) build -c release --product GridtopBench
	.build/release/GridtopBench --quick

clean:
	rm -rf .build

.PHONY: detection-report
## Monte-Carlo theft-detection quality report (method and reading: docs/detection.md).
## RUNS, CLEAN_RUNS, CONSUMERS and IDEAL=1 (plain physics) are passed through.
## PHYSICAL=1: the physical validation instead (SimBench + pandapower power flows served as a
## chain to `gridtop alerts`; Validation/README.md); SEEDS, ONLY and GRIDTOP are passed through.
detection-report:
ifeq ($(PHYSICAL),1)
	./scripts/physical-report.sh > docs/detection-physical-results.md
	@cat docs/detection-physical-results.md
else
	./scripts/detection-report.sh > docs/detection-results.md
	@cat docs/detection-results.md
endif

.PHONY: idle-cpu
## Idle CPU of `gridtop watch` on 4 simulated nodes (release build), over 60 s, per thread.
idle-cpu: deps
	$(SWIFT) build -c release --product gridtop
	./scripts/idle-cpu.sh .build/release/gridtop 60
