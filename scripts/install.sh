#!/usr/bin/env bash
# Installs Bento-fs so that the system's tools can use it like any file system (needs root):
#   /usr/local/lib/bento/{bin,lib,modules}   bentofs, bentoctl, mkfs.bento, fsck.bento, the
#                                            services library and the fs modules
#   /sbin/mount.fuse.bento, /sbin/umount.fuse.bento   mount -t fuse.bento, fstab, umount
#   /sbin/mkfs.bento, /sbin/fsck.bento        mkfs -t bento, fsck -t bento
# mount(8), umount(8), mkfs(8) and fsck(8) look for their helpers in /sbin.
# Idempotent: run it again after every build (scripts/test.sh and scripts/demo.sh do).
# Usage: scripts/install.sh [BUILD_DIR]   (default build/default)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/default}
prefix=/usr/local
if [ ! -x "$build/bin/bentofs" ]; then
  echo "install: $build/bin/bentofs not built (cmake --build $build first)" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO cmake --install "$build" --prefix "$prefix" --component bento-fs >/dev/null
sbin=/sbin
for h in mount.fuse.bento umount.fuse.bento; do
  $SUDO install -m 0755 "kernel/host/mount_helpers/$h" "$sbin/$h"
done
for t in mkfs.bento fsck.bento; do
  $SUDO ln -sfn "$prefix/lib/bento/bin/$t" "$sbin/$t"
done
$SUDO ln -sfn "$prefix/lib/bento/bin/bentofs" "$prefix/sbin/bentofs"
$SUDO ln -sfn "$prefix/lib/bento/bin/bentoctl" "$prefix/sbin/bentoctl"
echo "install: Bento-fs installed under $prefix/lib/bento; helpers in $sbin"
