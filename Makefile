# Thin aliases. Bun and Deno come from node_modules (npm ci).
BIN := node_modules/.bin
BUN := $(BIN)/bun
DENO := $(BIN)/deno
# The server tests, the demo, chaos and bench start: the newest supported one, built by make install.
# NATS_SERVER=/path/to/nats-server make test picks another; the oldest supported is Debian's 2.9.10.
NATS_SERVER ?= $(CURDIR)/.tools/bin/nats-server
NATS_SERVER_OLDEST ?= /usr/sbin/nats-server
export NATS_SERVER_BIN := $(NATS_SERVER)

PY_VENV := clients/python/.venv

.PHONY: install tools build package demo test test-bun test-bun-oldest test-deno test-python test-go check lint chaos chaos-short chaos-net bench clean

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

# The npm package @qwjobs/qw (the producer client; the tasks side at @qwjobs/qw/tasks): prepack builds dist/npm with tsc,
# then a tarball in dist/; the Python client's wheel and sdist in dist/python.
package: install $(PY_VENV)/.installed
	mkdir -p dist && npm pack --pack-destination dist
	$(PY_VENV)/bin/python -m build --outdir dist/python clients/python

demo: build
	$(BUN) scripts/demo.ts

test: test-bun test-deno test-python test-go

# The Python client (clients/python) in a virtualenv of its own, from PyPI.
$(PY_VENV)/.installed: clients/python/pyproject.toml
	scripts/ensure_python_venv.sh $(PY_VENV)
	$(PY_VENV)/bin/pip install --quiet --upgrade pip
	$(PY_VENV)/bin/pip install --quiet build -e 'clients/python[test]'
	touch $@

# Its types (mypy --strict), its vectors, and integration tests against a real nats-server and dist/qw.
test-python: build $(PY_VENV)/.installed
	cd clients/python && .venv/bin/mypy --strict src/qwjobs && .venv/bin/pytest -q

# The Go client (clients/go); go fetches its modules from the module proxy.
test-go: build
	cd clients/go && go test -count=1 ./...

test-bun: build
	$(BUN) test --timeout 120000 tests/

# The Bun suite on the oldest supported server: every integration test but those no server feature touches (the
# dashboard page in Chromium, the README's examples, the npm package, Jaeger), which `make test` runs on the newest;
# the unit tests need no server.
OLDEST_SKIP := $(addprefix tests/integration/,dashboard_browser_test.ts dashboard_jobs_browser_test.ts readme_test.ts package_test.ts jaeger_test.ts)
test-bun-oldest: build
	NATS_SERVER_BIN=$(NATS_SERVER_OLDEST) $(BUN) test --timeout 120000 $(addprefix ./,$(filter-out $(OLDEST_SKIP),$(wildcard tests/integration/*_test.ts)))

# Type-check once, then run without checking each Web Worker module again.
# Under Deno: the unit tests, every integration test that runs qw's worker or client inside the test's own process
# (on Deno's runtime), and the doc tests. A test that drives a qw process (the compiled dist/qw, a Bun binary, or the
# CLI from source under Bun) runs under Bun only: under Deno it would test the same Bun process again. The Bun run
# starts the CLI from source under Deno once (worker_test.ts), and the browser tests need Chromium, not Deno.
space := $(subst ,, )
comma := ,
DENO_SKIP := $(addprefix tests/integration/,dashboard_browser_test.ts dashboard_jobs_browser_test.ts fault_soup_test.ts)
DENO_TESTS := tests/unit $(filter-out $(DENO_SKIP),$(shell grep -L 'spawnQw\|runQw\|QW_BIN' tests/integration/*_test.ts))
test-deno: build
	$(DENO) check mod.ts client.ts tasks.ts cli.ts src/ tests/unit tests/integration tests/helpers $(wildcard tests/fixtures/tasks/*.ts) scripts/ examples/
	$(DENO) test -A --no-check $(DENO_TESTS)
	$(DENO) test -A --doc mod.ts

check: install
	$(DENO) check mod.ts client.ts tasks.ts cli.ts src/ tests/unit tests/integration tests/helpers $(wildcard tests/fixtures/tasks/*.ts) scripts/ examples/
	$(DENO) lint

chaos: build
	$(BUN) scripts/chaos.ts

chaos-short: build
	$(BUN) scripts/chaos.ts --short
	scripts/ensure_nftables.sh
	$(BUN) scripts/net_chaos.ts --short

# Network faults: a 3-node cluster and three qw processes, each in its own network namespace (root, ip, nft).
chaos-net: build
	scripts/ensure_nftables.sh
	$(BUN) scripts/net_chaos.ts

# On nats-server 2.15.3, then on the oldest supported (BENCH_QUICK=1 for a fast check; BENCH_SERVERS="bin ..." picks
# the servers; the other variables are in scripts/_bench_options.ts).
bench: build
	NATS_SERVER_OLDEST_BIN=$(NATS_SERVER_OLDEST) $(BUN) scripts/bench.ts

clean:
	rm -rf dist .tmp $(PY_VENV)
