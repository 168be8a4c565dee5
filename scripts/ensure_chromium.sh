#!/usr/bin/env bash
# Install Debian's chromium when it is missing: the dashboard's browser test
# drives it with playwright-core (which downloads no browser of its own).
set -euo pipefail
for b in "${QW_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  [ -n "$b" ] && [ -x "$b" ] && exit 0
done
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
echo "chromium not found: installing Debian's package" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
chromium --version
