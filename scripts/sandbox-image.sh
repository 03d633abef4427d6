#!/usr/bin/env bash
# Builds the minimal local sandbox image (no registry needed): an almost empty merged-usr rootfs
# that is run with the host's /usr bound read-only, so node/git/agents come from the host.
set -euo pipefail

image="devteam-sandbox:local"
force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    *) image="$arg" ;;
  esac
done

if [ "$force" = 0 ] && docker image inspect "$image" >/dev/null 2>&1; then
  echo "sandbox image $image already present"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
root="$tmp/rootfs"
mkdir -p "$root"/{usr,tmp,workspace,proc,sys,dev,root,home,etc}
chmod 1777 "$root/tmp"
# Merged-usr symlinks: the image's /bin etc. resolve into the bound host /usr.
ln -s usr/bin "$root/bin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
ln -s usr/sbin "$root/sbin"
for f in passwd group ld.so.cache nsswitch.conf; do
  if [ -e "/etc/$f" ]; then cp -L "/etc/$f" "$root/etc/$f"; fi
done
# Only the public CA certificates: /etc/ssl/private holds this host's TLS keys, never for an image.
if [ -d /etc/ssl/certs ]; then mkdir -p "$root/etc/ssl" && cp -rL /etc/ssl/certs "$root/etc/ssl/certs"; fi
if [ -f /etc/ssl/openssl.cnf ]; then cp -L /etc/ssl/openssl.cnf "$root/etc/ssl/openssl.cnf"; fi

tar -C "$root" -c . | docker import - "$image" >/dev/null
echo "built sandbox image $image"
