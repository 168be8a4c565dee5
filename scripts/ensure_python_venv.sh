#!/usr/bin/env bash
# Make a virtualenv at $1 with python3, installing Debian's python3-venv first when the venv module is missing.
set -euo pipefail
if ! command -v python3 >/dev/null 2>&1 || ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "python3 with venv not found: installing Debian's python3-venv" >&2
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq python3 python3-venv >/dev/null
fi
python3 -m venv "$1"
