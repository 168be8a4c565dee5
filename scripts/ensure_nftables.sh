#!/usr/bin/env bash
# Install Debian's nftables when `nft` is missing: the network-fault scenarios
# (scripts/net_chaos.ts) cut links and drop packets with it inside their own
# network namespaces.
set -euo pipefail
command -v nft >/dev/null 2>&1 && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
echo "nft not found: installing Debian's nftables" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nftables >/dev/null
nft --version
