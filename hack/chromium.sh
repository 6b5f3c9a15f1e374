#!/usr/bin/env bash
# Installs Debian's Chromium for the browser test of the HTML report (hack/browser, run by
# `make browser-test`, part of `make test`). Idempotent: nothing happens when it is there.
#
# Chromium is installed with its recommended packages: they bring the fonts, and a browser
# without fonts lays text out at widths no user sees, which is what the test measures.
set -euo pipefail
chromium=${WINNET_CHROMIUM:-/usr/bin/chromium}

say() { echo "chromium: $*" >&2; }
die() { say "$*"; exit 1; }

if [[ -x $chromium ]]; then
  say "$("$chromium" --version 2>/dev/null || echo "$chromium") already installed"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  die "$chromium is missing and installing it needs root (this is uid $(id -u)); run as root (CI does) or: sudo apt-get install -y chromium; or point WINNET_CHROMIUM at a Chromium or Chrome binary"
fi
command -v apt-get >/dev/null || die "$chromium is missing and there is no apt-get here; install Chromium with this system's package manager and point WINNET_CHROMIUM at it"
start=$(date +%s)
# Refresh the package lists only when they do not know the package (a fresh container).
if [[ $(apt-cache policy chromium 2>/dev/null || true) != *"Candidate: "[0-9]* ]]; then
  say "apt lists do not know chromium: apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed; check the network and the apt sources"
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || die "apt-get install chromium failed; see apt's messages above"
[[ -x $chromium ]] || die "$chromium is missing after installing Debian's chromium; set WINNET_CHROMIUM to where it went"
say "installed $("$chromium" --version 2>/dev/null) in $(( $(date +%s) - start ))s"
