#!/usr/bin/env bash
# Builds helm from its Go module (no prebuilt downloads reach this machine), cached outside the repo by version.
# Prints the path of the helm binary.
set -euo pipefail
HELM_VERSION="${CREDCHECK_HELM_VERSION:-v3.19.5}"
CACHE="${CREDCHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/credcheck}"
RECIPE=2  # bump when the way helm is built changes
BIN="$CACHE/bin/helm-${HELM_VERSION}_r${RECIPE}"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
if [[ -x "$BIN/helm" ]]; then
  echo "$BIN/helm"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "[helm build] building helm ${HELM_VERSION} (a few minutes on a cold cache)" >&2
go mod init credcheck.local/helm-build >/dev/null 2>&1
go get "helm.sh/helm/v3@${HELM_VERSION}" >/dev/null 2>&1
mkdir -p "$BIN.partial"
# helm's default Kubernetes version for `template`/`lint` comes from these (its Makefile sets them from client-go)
k8s_minor="$(go list -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2)"
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X ${pkg}.k8sVersionMajor=1 -X ${pkg}.k8sVersionMinor=${k8s_minor}"
done
go build -mod=mod -trimpath -ldflags "${ldflags}" -v \
  -o "$BIN.partial/helm" helm.sh/helm/v3/cmd/helm 2>&1 \
  | awk '{ n++; if (n % 100 == 0) { printf "[helm build] %d packages compiled\n", n > "/dev/stderr"; fflush("/dev/stderr") } }
         END { printf "[helm build] done (%d packages)\n", n > "/dev/stderr" }'
[[ -x "$BIN.partial/helm" ]] || { echo "[helm build] helm did not build" >&2; exit 1; }
rm -rf "$BIN"; mv "$BIN.partial" "$BIN"
echo "$BIN/helm"
