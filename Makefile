# Thin aliases. Bun and Deno come from node_modules (npm ci).
BIN := node_modules/.bin
BUN := $(BIN)/bun
DENO := $(BIN)/deno

.PHONY: install build package demo test test-bun test-deno check lint chaos chaos-short bench clean

install: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	scripts/ensure_nats_server.sh
	scripts/ensure_chromium.sh
	touch $@

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
