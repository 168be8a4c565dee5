#!/usr/bin/env bash
# Build the newest supported nats-server and the nats CLI into .tools/bin with
# go install, unless that exact version is already there. Debian's nats-server
# (scripts/ensure_nats_server.sh) stays on PATH as the oldest supported server.
set -euo pipefail
cd "$(dirname "$0")/.."

NATS_SERVER_VERSION=2.15.3
NATS_CLI_VERSION=0.5.0
BIN="$PWD/.tools/bin"

have() { # have <binary> <version>: that binary reports exactly that version
  [ -x "$BIN/$1" ] && "$BIN/$1" --version 2>&1 | grep -Eq "(^|[^0-9.])v?$2([^0-9.]|$)"
}

if have nats-server "$NATS_SERVER_VERSION" && have nats "$NATS_CLI_VERSION"; then exit 0; fi
if ! command -v go >/dev/null 2>&1; then
  echo "Cannot build nats-server v$NATS_SERVER_VERSION and nats v$NATS_CLI_VERSION as 'go' is not on PATH: install Go 1.26 or newer" >&2
  exit 1
fi
mkdir -p "$BIN"
if ! have nats-server "$NATS_SERVER_VERSION"; then
  echo "building nats-server v$NATS_SERVER_VERSION into .tools/bin" >&2
  GOBIN="$BIN" go install "github.com/nats-io/nats-server/v2@v$NATS_SERVER_VERSION"
fi
if ! have nats "$NATS_CLI_VERSION"; then
  echo "building nats v$NATS_CLI_VERSION into .tools/bin" >&2
  GOBIN="$BIN" go install "github.com/nats-io/natscli/nats@v$NATS_CLI_VERSION"
fi
"$BIN/nats-server" --version
