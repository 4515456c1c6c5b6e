#!/usr/bin/env bash
# Installs Debian packages, as root or through sudo, waiting up to 5 minutes for the dpkg lock: the
# one way the project's install scripts (install-browser.sh, install-redis.sh) add system packages.
# Usage: bash tools/apt-install.sh PACKAGE...
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -q -o DPkg::Lock::Timeout=300 >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=300 "$@" >/dev/null
