#!/usr/bin/env bash
# Build the feedsvc image without a daemon (buildah, chroot isolation) and tag it
# localhost/feedsvc:test, which tests/test_container_image.py then runs on 127.0.0.1.
#
#   deploy/build-image.sh             # FROM python:3.11-slim-bookworm, from a registry
#   deploy/build-image.sh --standin   # where no image registry is reachable: a local
#                                     # stand-in for that base, made with debootstrap
#                                     # from Debian's packages (Python 3.11, pip)
#
# Needs root (or a rootless buildah set-up), buildah, and for --standin debootstrap:
#   apt-get install buildah debootstrap
set -euo pipefail
cd "$(dirname "$0")/.."

base=python:3.11-slim-bookworm
if [ "${1:-}" = "--standin" ]; then
  base=localhost/python-standin:3.11-slim-bookworm
  if ! buildah inspect --type image "$base" >/dev/null 2>&1; then
    rootfs=$(mktemp -d)
    trap 'rm -rf "$rootfs"' EXIT
    debootstrap --variant=minbase --include=python3,python3-pip,python-is-python3 \
      bookworm "$rootfs" http://deb.debian.org/debian
    # The official image's Python is not managed by apt, so pip may install into it.
    rm -f "$rootfs"/usr/lib/python3.*/EXTERNALLY-MANAGED
    # Whatever CA bundle this machine trusts for the package index, trust it inside too.
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
    chroot "$rootfs" apt-get clean
    container=$(buildah from scratch)
    mountpoint=$(buildah mount "$container")
    cp -a "$rootfs"/. "$mountpoint"/
    buildah umount "$container" >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      --cmd python3 "$container"
    buildah commit -q "$container" "$base"
    buildah rm "$container" >/dev/null
  fi
fi

# --format docker keeps HEALTHCHECK, which the OCI image format has no field for.
buildah bud --format docker --isolation chroot --build-arg "PYTHON_IMAGE=$base" \
  -t localhost/feedsvc:test .
