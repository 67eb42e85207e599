#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and etcd from their Go modules (no prebuilt downloads reach this machine)
# and caches them outside the repo, keyed by version. Prints the directory holding the binaries.
# A second call with the same versions returns at once.
set -euo pipefail

K8S_VERSION="${CREDCHECK_K8S_VERSION:-v1.34.4}"
ETCD_VERSION="${CREDCHECK_ETCD_VERSION:-v3.6.16}"
CACHE="${CREDCHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/credcheck}"
RECIPE=2  # bump when the way the binaries are built changes, so caches are rebuilt
BIN="$CACHE/bin/k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_r${RECIPE}"

export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0

say() { printf '[control-plane build] %s\n' "$*" >&2; }

# Turns `go build -v` package lines into a progress line every 100 packages.
progress() {
  awk -v what="$1" '{ n++; if (n % 100 == 0) { printf "[control-plane build] %s: %d packages compiled\n", what, n > "/dev/stderr"; fflush("/dev/stderr") } }
       END { printf "[control-plane build] %s: done (%d packages)\n", what, n > "/dev/stderr" }'
}

if [[ -x "$BIN/kube-apiserver" && -x "$BIN/kubectl" && -x "$BIN/etcd" ]]; then
  echo "$BIN"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$BIN.partial"

# --- Kubernetes: wrapper module replacing every staging module with its published v0.X.Y ---
staging_version="v0.${K8S_VERSION#v1.}"
say "resolving k8s.io/kubernetes ${K8S_VERSION} (staging modules at ${staging_version})"
mkdir -p "$work/k8s"
cd "$work/k8s"
go mod init credcheck.local/k8s-build >/dev/null 2>&1
gomod_file="$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
{
  echo "require k8s.io/kubernetes ${K8S_VERSION}"
  echo "replace ("
  sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/k8s.io/.*#\t\1 => \1 '"${staging_version}"'#p' "$gomod_file"
  echo ")"
} >>go.mod
say "$(grep -c ' => ' go.mod) staging modules replaced"
cat >tools.go <<'GO'
//go:build tools

package tools
GO
say "downloading Kubernetes dependencies"
go mod download k8s.io/kubernetes
minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
version_flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  version_flags+=" -X ${pkg}.gitVersion=${K8S_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
  version_flags+=" -X ${pkg}.gitTreeState=clean"
done
for cmd in kube-apiserver kubectl; do
  say "building $cmd (several minutes on a cold cache)"
  go build -mod=mod -trimpath -ldflags "-s -w ${version_flags}" -v -o "$BIN.partial/$cmd" "k8s.io/kubernetes/cmd/$cmd" 2>&1 | progress "$cmd"
  [[ -x "$BIN.partial/$cmd" ]] || { say "$cmd did not build"; exit 1; }
done

# --- etcd: a tiny main calling etcdmain.Main ---
say "building etcd ${ETCD_VERSION}"
mkdir -p "$work/etcd"
cd "$work/etcd"
go mod init credcheck.local/etcd-build >/dev/null 2>&1
cat >main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" >/dev/null 2>&1
go mod tidy >/dev/null 2>&1
go build -trimpath -ldflags "-s -w" -v -o "$BIN.partial/etcd" . 2>&1 | progress etcd
[[ -x "$BIN.partial/etcd" ]] || { say "etcd did not build"; exit 1; }

rm -rf "$BIN"
mv "$BIN.partial" "$BIN"
say "binaries cached in $BIN"
echo "$BIN"
