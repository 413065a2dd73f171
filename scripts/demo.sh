#!/usr/bin/env bash
# The main job, end to end, on the embedded default: build, make an image, mount it with
# the userspace host, run a small pipeline, live-upgrade the running file system, show
# the mount's status, unmount. Needs root and /dev/fuse.
#   scripts/demo.sh [WORKDIR]     (default /tmp/bento-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=${1:-/tmp/bento-demo}

bash scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" >/dev/null
bin=$root/build/default
modules=$bin/modules

mnt=$work/mnt
img=$work/bento.img
mkdir -p "$mnt"
mountpoint -q "$mnt" && fusermount3 -u "$mnt"
cleanup() { mountpoint -q "$mnt" && fusermount3 -u "$mnt" || true; }
trap cleanup EXIT

module=$modules/bento_fs.so
if [ -x "$bin/bin/mkfs.bento" ] && [ -f "$module" ]; then
  echo "== mkfs.bento $img (256 MiB)"
  rm -f "$img"
  "$bin/bin/mkfs.bento" --size 256M "$img"
else
  module=$modules/memfs.so
  echo "== Bento-fs not built: using the example memfs"
  truncate -s 64M "$img"
fi

echo "== bentofs $img $mnt --module $(basename "$module")"
"$bin/bin/bentofs" "$img" "$mnt" --module "$module"

echo "== a small pipeline on the mount"
mkdir -p "$mnt/report"
seq 1 1000 | awk '{print $1 % 7}' > "$mnt/report/input.txt"
sort -n "$mnt/report/input.txt" | uniq -c > "$mnt/report/output.csv"
head -3 "$mnt/report/output.csv"

echo "== live upgrade while mounted"
"$bin/bin/bentoctl" upgrade "$mnt" "$module"
cmp <(sort -n "$mnt/report/input.txt" | uniq -c) "$mnt/report/output.csv" && echo "data intact after upgrade"

echo "== status"
"$bin/bin/bentoctl" status "$mnt"

echo "== unmount (waits for the host to finish writing back)"
"$bin/bin/bentoctl" unmount "$mnt"
if [ -x "$bin/bin/fsck.bento" ] && [ "$(basename "$module")" = bento_fs.so ]; then
  "$bin/bin/fsck.bento" "$img"
fi
