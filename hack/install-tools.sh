#!/usr/bin/env bash
# Tools the tests need beyond Python and Go: promtool and prometheus (Debian's prometheus package) for the alert rule
# tests, prometheus-alertmanager (Debian) for the end-to-end alert test (tests/alerting) beside prometheus,
# buildah and debootstrap (Debian) to build and run the image, dockerfilelint (npm) for the Dockerfile, helm (built
# from its Go module) for the chart, Prometheus with Kubernetes SD (built from its Go module) for KKP's scrape job.
set -euo pipefail
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v buildah >/dev/null 2>&1 || missing+=(buildah)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if (( ${#missing[@]} )); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "[tools] installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "[tools] missing Debian packages: ${missing[*]} (install them, as root)" >&2
    exit 1
  fi
fi

here="$(cd "$(dirname "$0")/.." && pwd)"
if [[ ! -x "$here/.tools/node_modules/.bin/dockerfilelint" ]]; then
  echo "[tools] installing dockerfilelint (npm) into .tools" >&2
  npm install --silent --no-audit --no-fund --prefix "$here/.tools" dockerfilelint@1.8.0 >/dev/null
fi
bash "$here/hack/build-helm.sh" >/dev/null
bash "$here/hack/build-prometheus.sh" >/dev/null  # KKP's scrape job needs Kubernetes SD (tests/alerting)
