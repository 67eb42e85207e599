#!/usr/bin/env bash
# Builds Prometheus from its Go module with Kubernetes service discovery, cached outside the repo by version, and
# prints the path of the binary. Debian's prometheus package is built without kubernetes_sd_configs (its Go
# dependencies are not packaged), and KKP's seed Prometheus scrapes pods through it (charts/monitoring/prometheus/
# config/scraping/pods.yaml): the KKP alerting test and `make demo` need it. The version is the one KKP v2.31.0's
# chart runs (charts/monitoring/prometheus/values.yaml: quay.io/prometheus/prometheus v2.51.1, Go module v0.51.1).
# Only the Kubernetes SD is compiled in (Prometheus' build tags remove_all_sd, enable_kubernetes_sd).
set -euo pipefail
PROM_VERSION="${CREDCHECK_PROMETHEUS_VERSION:-v2.51.1}"
CACHE="${CREDCHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/credcheck}"
RECIPE=1  # bump when the way prometheus is built changes
BIN="$CACHE/bin/prometheus-${PROM_VERSION}_r${RECIPE}"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
if [[ -x "$BIN/prometheus" ]]; then
  echo "$BIN/prometheus"
  exit 0
fi
module_version="v0.${PROM_VERSION#v2.}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "[prometheus build] building prometheus ${PROM_VERSION} (module ${module_version}; minutes on a cold cache)" >&2
go mod init credcheck.local/prometheus-build >/dev/null 2>&1
go get "github.com/prometheus/prometheus@${module_version}" >/dev/null 2>&1
# Prometheus' own replace directives (klog -> klog-gokit) apply only in its module: repeat them here
gomod="$(go list -m -f '{{.GoMod}}' github.com/prometheus/prometheus)"
sed -n '/^replace (/,/^)/p' "$gomod" | awk '$2 == "=>" { printf "-replace=%s=%s@%s\n", $1, $3, $4 }' \
  | xargs -r go mod edit
mkdir -p "$BIN.partial"
pkg=github.com/prometheus/common/version
ldflags="-s -w -X ${pkg}.Version=${PROM_VERSION#v} -X ${pkg}.Branch=credcheck-build"
go build -mod=mod -trimpath -tags "remove_all_sd,enable_kubernetes_sd" -ldflags "${ldflags}" -v \
  -o "$BIN.partial/prometheus" github.com/prometheus/prometheus/cmd/prometheus 2>&1 | tee "$work/build.log" \
  | awk '{ n++; if (n % 100 == 0) { printf "[prometheus build] %d packages compiled\n", n > "/dev/stderr"; fflush("/dev/stderr") } }
         END { printf "[prometheus build] done (%d packages)\n", n > "/dev/stderr" }' || true
[[ -x "$BIN.partial/prometheus" ]] || { tail -20 "$work/build.log" >&2; echo "[prometheus build] prometheus did not build" >&2; exit 1; }
"$BIN.partial/prometheus" --version >&2
rm -rf "$BIN"; mv "$BIN.partial" "$BIN"
echo "$BIN/prometheus"
