#!/usr/bin/env bash
# Makes sure Debian's chromium and chromium-driver are installed (browser tests use them).
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "chromium is missing: install it with 'apt-get install chromium chromium-driver' as root" >&2
    exit 1
  fi
fi
echo "Installing chromium and chromium-driver from Debian..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
