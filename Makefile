# Thin aliases. Bun and Deno come from node_modules (npm ci).
BIN := node_modules/.bin
BUN := $(BIN)/bun
DENO := $(BIN)/deno
PY_VENV := clients/python/.venv

.PHONY: install build package demo test test-bun test-deno test-python test-go check lint chaos chaos-short bench clean

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

# The npm package @qwjobs/qw (the producer client): prepack builds dist/npm with tsc, then a tarball in dist/;
# the Python client's wheel and sdist in dist/python.
package: install $(PY_VENV)/.installed
	mkdir -p dist && npm pack --pack-destination dist
	$(PY_VENV)/bin/python -m build --outdir dist/python clients/python

demo: build
	$(BUN) scripts/demo.ts

test: test-bun test-deno test-python test-go

# The Python client (clients/python) in a virtualenv of its own, from PyPI.
$(PY_VENV)/.installed: clients/python/pyproject.toml
	python3 -m venv $(PY_VENV)
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

# Type-check once, then run without checking each Web Worker module again.
test-deno: build
	$(DENO) check mod.ts client.ts cli.ts src/ tests/unit tests/integration tests/helpers $(wildcard tests/fixtures/tasks/*.ts) scripts/ examples/
	$(DENO) test -A --no-check tests/
	$(DENO) test -A --doc mod.ts

check: install
	$(DENO) check mod.ts client.ts cli.ts src/ tests/unit tests/integration tests/helpers $(wildcard tests/fixtures/tasks/*.ts) scripts/ examples/
	$(DENO) lint

chaos: build
	$(BUN) scripts/chaos.ts

chaos-short: build
	$(BUN) scripts/chaos.ts --short

bench: build
	$(BUN) scripts/bench.ts

clean:
	rm -rf dist .tmp $(PY_VENV)
