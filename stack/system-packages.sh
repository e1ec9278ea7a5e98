#!/usr/bin/env bash
# Debian packages some parts need, installed with apt when missing; idempotent.
#   stack/system-packages.sh [--optional] PACKAGE...
# chromium: the real-browser test of the Airflow UI (Playwright drives it; no browser download).
# fonts-symbola: emoji glyphs in the analysis charts (without it they are labelled by name).
# With --optional a package that cannot be installed is reported and skipped.
set -euo pipefail
optional=0
[ "${1:-}" = "--optional" ] && { optional=1; shift; }
missing=()
for package in "$@"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages present: $*"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"; else SUDO="none"; fi
fi
if ! command -v apt-get >/dev/null || [ "$SUDO" = "none" ]; then
  message="cannot install ${missing[*]} (needs apt-get as root or passwordless sudo); install them yourself"
  if [ $optional -eq 1 ]; then echo "note: $message"; exit 0; fi
  echo "error: $message" >&2; exit 3
fi
echo "installing Debian packages: ${missing[*]} ..."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
  tail -5 "$log" >&2
  if [ $optional -eq 1 ]; then echo "note: apt-get could not install ${missing[*]}; continuing without"; exit 0; fi
  echo "error: apt-get could not install ${missing[*]}" >&2; exit 3
fi
echo "installed: ${missing[*]}"
