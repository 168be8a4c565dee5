#!/usr/bin/env bash
# Install Debian's nats-server when it is missing (tests and the demo start their own).
set -euo pipefail
command -v nats-server >/dev/null 2>&1 && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
echo "nats-server not found: installing Debian's package" >&2
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq nats-server >/dev/null
nats-server --version
