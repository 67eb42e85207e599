#!/usr/bin/env bash
# `make image`: the image from the Dockerfile with Debian's buildah (vfs storage, chroot isolation; no Docker engine).
# Installs buildah where it is missing (as `make test` does). BASE is python:3.11-slim unless told otherwise;
# BASE=local builds on the Debian bookworm base of hack/build-base-image.sh (for machines that reach no registry).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
BASE="${BASE:-python:3.11-slim}"
IMAGE="${IMAGE:-localhost/credcheck:dev}"
STORE=(--storage-driver vfs)

if ! command -v buildah >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "[image] installing Debian's buildah" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah >/dev/null
  else
    echo "[image] buildah is missing: install Debian's (or your distribution's) buildah package, as root" >&2
    exit 1
  fi
fi

if [[ "$BASE" == local ]]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    [[ $(id -u) -eq 0 ]] || { echo "[image] debootstrap is missing: install it as root" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  fi
  BASE="$(bash "$here/hack/build-base-image.sh" | tail -n 1)"
elif ! buildah "${STORE[@]}" inspect --type image "$BASE" >/dev/null 2>&1; then
  echo "[image] pulling the base $BASE" >&2
  if ! buildah "${STORE[@]}" pull --quiet "$BASE" >/dev/null 2>"${TMPDIR:-/tmp}/credcheck-pull.err"; then
    echo "[image] could not pull the base image $BASE ($(tail -n 1 "${TMPDIR:-/tmp}/credcheck-pull.err"))." >&2
    echo "[image] Where no container registry can be reached, build on a local Debian base instead:" >&2
    echo "[image]     make image BASE=local" >&2
    exit 1
  fi
fi

cd "$here"
buildah "${STORE[@]}" bud --isolation chroot --layers=false --build-arg "BASE=$BASE" --tag "$IMAGE" \
  --volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro --file Dockerfile .
echo "$IMAGE"
