#!/usr/bin/env bash
# Debian's Chromium for the real-browser test of the Airflow UI (driven headless by Playwright;
# no browser download). Installed with apt when missing; idempotent.
set -euo pipefail
CHROMIUM="${DATALAKE_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  echo "chromium: $("$CHROMIUM" --version 2>/dev/null || echo present)"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "error: $CHROMIUM is missing and apt-get is not available; install Chromium and set DATALAKE_CHROMIUM." >&2
  exit 3
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing Debian's chromium (for the Airflow UI browser test) ..."
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
echo "chromium: $("$CHROMIUM" --version)"
