#!/usr/bin/env bash
# A local stand-in for python:3.11-slim (no registry can be reached here): Debian bookworm's minbase with python3
# and python3-venv, made by debootstrap from Debian's packages, cached outside the repository and imported into
# buildah's storage. Prints the image name. Progress goes to stderr.
set -euo pipefail
RECIPE=r1
IMAGE="localhost/credcheck-base:bookworm-py311-$RECIPE"
STORE=(--storage-driver vfs)
CACHE="${CREDCHECK_CACHE:-$HOME/.cache/credcheck}/images"
TAR="$CACHE/debian-bookworm-python3-$RECIPE.tar"

if buildah "${STORE[@]}" inspect --type image "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE"
  exit 0
fi
mkdir -p "$CACHE"
if [[ ! -f "$TAR" ]]; then
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  echo "[base image] debootstrap bookworm minbase + python3, python3-venv from $mirror (about 2 min) …" >&2
  debootstrap --variant=minbase --include=python3,python3-venv bookworm "$rootfs" "$mirror" 2>&1 \
    | awk '/^I: (Retrieving|Validating|Extracting|Installing|Configuring|Base system)/ {n++; if (n % 25 == 0 || /Base system/) print "[base image] " $0; fflush()}' >&2
  # what an image never needs: apt's caches and lists, documentation, locales but C
  rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
         "$rootfs"/usr/share/info/*
  find "$rootfs"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name 'C*' -exec rm -rf {} + 2>/dev/null || true
  ln -sf python3 "$rootfs/usr/bin/python"
  tar -C "$rootfs" -cf "$TAR.partial" . && mv "$TAR.partial" "$TAR"
  echo "[base image] root filesystem: $(du -sh "$TAR" | cut -f1) in $TAR" >&2
fi
ctr=$(buildah "${STORE[@]}" from scratch)
buildah "${STORE[@]}" add "$ctr" "$TAR" / >/dev/null
buildah "${STORE[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env LANG=C.UTF-8 --cmd python3 "$ctr"
buildah "${STORE[@]}" commit --quiet "$ctr" "$IMAGE" >/dev/null
buildah "${STORE[@]}" rm "$ctr" >/dev/null
echo "$IMAGE"
