#!/usr/bin/env bash
# Tools the tests need beyond Python and Go: promtool (Debian's prometheus package) for the alert rule tests.
set -euo pipefail
if ! command -v promtool >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "[tools] installing promtool (Debian package prometheus)" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  else
    echo "[tools] promtool is missing: install Debian's prometheus package (or put promtool on PATH)" >&2
    exit 1
  fi
fi
