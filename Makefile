# Thin aliases. Bun and Deno come from node_modules (npm ci).
BIN := node_modules/.bin
BUN := $(BIN)/bun
DENO := $(BIN)/deno
# The server tests, the demo, chaos and bench start: the newest supported one, built by make install.
# NATS_SERVER=/path/to/nats-server make test picks another; the oldest supported is Debian's 2.9.10.
NATS_SERVER ?= $(CURDIR)/.tools/bin/nats-server
NATS_SERVER_OLDEST ?= /usr/sbin/nats-server
export NATS_SERVER_BIN := $(NATS_SERVER)

.PHONY: install tools build package demo test test-bun test-bun-oldest test-deno check lint chaos chaos-short bench clean

install: node_modules/.installed tools
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	scripts/ensure_nats_server.sh
	scripts/ensure_chromium.sh
	touch $@

# nats-server v2.15.3 and the nats CLI v0.5.0 in .tools/bin (go install; skipped when already there).
tools:
	scripts/ensure_nats_tools.sh

# One self-contained executable; the Web Worker entry is embedded explicitly.
# Precompiled to bytecode (ESM, for cli.ts's top-level await): the process
# skips parsing its own code, which halves start to first job.
build: install
	$(BUN) scripts/build_dashboard_assets.ts
	$(BUN) build --compile --bytecode --format=esm --outfile dist/qw cli.ts src/worker/pool/worker_entry.ts

# The npm package @qwjobs/qw (the producer client; the tasks side at @qwjobs/qw/tasks): prepack builds dist/npm with tsc, then a tarball in dist/.
package: install
	mkdir -p dist && npm pack --pack-destination dist

demo: build
	$(BUN) scripts/demo.ts

test: test-bun test-deno

test-bun: build
	$(BUN) test --timeout 120000 tests/

# The Bun suite on the oldest supported server.
test-bun-oldest: build
	NATS_SERVER_BIN=$(NATS_SERVER_OLDEST) $(BUN) test --timeout 120000 tests/

# Type-check once, then run without checking each Web Worker module again.
test-deno: build
	$(DENO) check mod.ts client.ts tasks.ts cli.ts src/ tests/unit tests/integration tests/helpers $(wildcard tests/fixtures/tasks/*.ts) scripts/ examples/
	$(DENO) test -A --no-check tests/
	$(DENO) test -A --doc mod.ts

check: install
	$(DENO) check mod.ts client.ts tasks.ts cli.ts src/ tests/unit tests/integration tests/helpers $(wildcard tests/fixtures/tasks/*.ts) scripts/ examples/
	$(DENO) lint

chaos: build
	$(BUN) scripts/chaos.ts

chaos-short: build
	$(BUN) scripts/chaos.ts --short

bench: build
	$(BUN) scripts/bench.ts

clean:
	rm -rf dist .tmp
