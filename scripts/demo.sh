#!/usr/bin/env bash
# The main job, end to end, on the embedded default: build, make an image, mount plain
# Bento-fs, start the collector (eBPF probes + the file system's provenance log), switch
# tracking on by live upgrade (`prov enable`: no unmount, no restart) between two runs of
# a small pipeline, and ask `prov why` what produced its output (then `prov impact` of its
# input and a W3C PROV-JSON export). Needs root, /dev/fuse, kernel BTF.
#   scripts/demo.sh [WORKDIR]     (default /tmp/bento-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=${1:-/tmp/bento-demo}

bash scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" >/dev/null
bash scripts/install.sh build/default  # mount -t fuse.bento, mkfs/fsck -t bento
bin=$root/build/default/bin
modules=$root/build/default/modules

mnt=$work/mnt
img=$work/bento.img
db=$work/prov.db
mkdir -p "$mnt"
mountpoint -q "$mnt" && fusermount3 -u "$mnt"
provd_pid=""
cleanup() {
  [ -z "$provd_pid" ] || kill "$provd_pid" 2>/dev/null || true
  mountpoint -q "$mnt" && "$bin/bentoctl" unmount "$mnt" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== mkfs.bento $img (256 MiB)"
rm -f "$img" "$db" "$db"-*
"$bin/mkfs.bento" --size 256M "$img"

echo "== bentofs: mount plain Bento-fs (no tracking yet)"
"$bin/bentofs" "$img" "$mnt" --module "$modules/bento_fs.so"
mkdir -p "$mnt/report"
seq 1 1000 | awk '{print $1 % 7}' > "$mnt/report/input.txt"

pipeline() {
  (cd "$mnt/report" && sort -n input.txt | uniq -c > counts.tmp && mv counts.tmp output.csv)
}
echo "== a small pipeline on the mount, untracked"
pipeline

echo "== provd: the collector (eBPF probes + provenance log -> $db)"
# The previous run's log says "collecting" too, until provd's redirection empties it: the
# pipeline ran before the probes loaded and showed as [unknown program].
rm -f "$work/provd.log"
"$bin/provd" --db "$db" --mount "$mnt" 2>"$work/provd.log" &
provd_pid=$!
for _ in $(seq 100); do grep -q collecting "$work/provd.log" 2>/dev/null && break; sleep 0.1; done
grep -q collecting "$work/provd.log" || { echo "provd did not start:"; cat "$work/provd.log"; exit 1; }

echo "== prov enable: live-upgrade the running file system into Bento-prov"
"$bin/prov" enable "$mnt"

echo "== the same pipeline again, tracked"
pipeline
head -3 "$mnt/report/output.csv"
sleep 1.2  # provd writes its status once a second
"$bin/prov" status --db "$db" || true

echo "== stop provd (it drains the probes and the log first)"
kill -TERM "$provd_pid"; wait "$provd_pid"; provd_pid=""

echo "== prov why $mnt/report/output.csv"
"$bin/prov" why "$mnt/report/output.csv" --db "$db"

echo "== prov impact $mnt/report/input.txt (what came of the input)"
"$bin/prov" impact "$mnt/report/input.txt" --db "$db" --depth 3

echo "== prov export --format prov-json --path output.csv -> $work/output.prov.json"
"$bin/prov" export --format prov-json --path "$mnt/report/output.csv" --db "$db" \
  -o "$work/output.prov.json"
echo "$(wc -c < "$work/output.prov.json") bytes of W3C PROV-JSON"

echo "== prov disable, unmount, fsck"
"$bin/prov" disable "$mnt"
"$bin/bentoctl" unmount "$mnt"
"$bin/fsck.bento" "$img"
