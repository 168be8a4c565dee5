#!/usr/bin/env bash
# Build Jaeger v1.75.0 (its all-in-one `jaeger` command) with Go, for tests/integration/jaeger_test.ts:
#   scripts/build_jaeger.sh [OUT]      # default .tmp/jaeger/jaeger; then JAEGER_BIN=OUT bun test tests/integration/jaeger_test.ts
# It compiles a few hundred modules: minutes of CPU, so CI does not run it (see README "Traces").
set -euo pipefail
OUT="$(realpath -m "${1:-.tmp/jaeger/jaeger}")"
[ -x "$OUT" ] && { echo "$OUT is there"; exit 0; }
WORK="$(dirname "$OUT")/module"
mkdir -p "$WORK"
cd "$WORK"
[ -f go.mod ] || go mod init scratch/jaeger >/dev/null 2>&1
start=$(date +%s)
go get -tool github.com/jaegertracing/jaeger/cmd/jaeger@v1.75.0
go build -o "$OUT" github.com/jaegertracing/jaeger/cmd/jaeger
echo "built $OUT in $(( $(date +%s) - start )) s"
