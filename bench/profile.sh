#!/usr/bin/env bash
# Where does the time go in Bento-fs's biggest gap to ext4? A CPU profile, not a guess.
#
#   bench/profile.sh [--workload untar|smallfiles|grepwarm] [--files N] [--out DIR] [--no-build]
#
# Mounts a fresh Bento-fs image with bentofs, runs the workload once to warm up, then again
# under `perf record -a -g` (system-wide: the application, the kernel's FUSE path and the
# bentofs threads all show), and writes DIR/profile.md: time split by process (comm), the
# top kernel and userspace symbols, and the top symbols inside bentofs. Needs root + perf.
set -euo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENTO_BUILD_DIR:-$REPO/build/default}  # another build: BENTO_BUILD_DIR=...
BIN=$BUILD/bin
MODDIR=$BUILD/modules
WL=untar
FILES=10500
OUT=""
DO_BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --workload) WL=$2; shift ;;
    --files) FILES=$2; shift ;;
    --out) OUT=$2; shift ;;
    --no-build) DO_BUILD=0 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "profile.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" -eq 0 ] || { echo "profile.sh: needs root" >&2; exit 1; }
command -v perf >/dev/null || { echo "profile.sh: needs perf (apt-get install linux-perf)" >&2; exit 1; }
: "${OUT:=$REPO/bench/results/profile-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
if [ $DO_BUILD -eq 1 ]; then
  (cd "$REPO" && cmake --preset default >/dev/null && cmake --build --preset default -j2 --target bentofs bentoctl mkfs.bento bento_fs >/dev/null)
fi

WORK=$(mktemp -d /dev/shm/bento-profile.XXXXXX)
MNT=$WORK/mnt
cleanup() {
  if mountpoint -q "$MNT" 2>/dev/null; then "$BIN/bentoctl" unmount "$MNT" --timeout 120 >/dev/null 2>&1 || fusermount3 -uz "$MNT" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$MNT"
python3 "$REPO/bench/lib/gen_tree.py" "$WORK/tree" "$WORK/tree.tar" --files "$FILES" >/dev/null
rm -rf "$WORK/tree"
truncate -s 2G "$WORK/img"
"$BIN/mkfs.bento" -N 131072 "$WORK/img" >/dev/null
"$BIN/bentofs" "$WORK/img" "$MNT" --module "$MODDIR/bento_fs.so"

case "$WL" in
  untar) prep() { rm -rf "$MNT/t"; mkdir "$MNT/t"; }; run() { tar -xf "$WORK/tree.tar" -C "$MNT/t"; } ;;
  smallfiles) prep() { rm -rf "$MNT/s"; }; run() { python3 "$REPO/bench/lib/smallfiles.py" create "$MNT/s" 10000 4096 >/dev/null; } ;;
  grepwarm) prep() { :; }; tar -xf "$WORK/tree.tar" -C "$MNT"; run() { grep -r BENTO_BENCH_NEEDLE "$MNT/src" >/dev/null || true; } ;;
  *) echo "profile.sh: unknown workload $WL" >&2; exit 2 ;;
esac
prep; run  # warm-up
prep
ops() { "$BIN/bentoctl" status "$MNT" --json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("ops", 0))'; }
ops0=$(ops)
a=$EPOCHREALTIME
perf record -q -a -g -F 999 -o "$WORK/perf.data" -- bash -c "$(declare -f run); MNT='$MNT' WORK='$WORK' REPO='$REPO'; run" 2>/dev/null
b=$EPOCHREALTIME
secs=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b - a }')
nops=$(( $(ops) - ops0 ))

{
  echo "# Profile: $WL on Bento-fs ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
  echo
  echo "Wall time under perf: ${secs} s. \`perf record -a -g -F 999\` (system-wide). Shares are of all samples."
  echo "File operations the fs served (FUSE requests reaching the module): $nops ($(awk -v n="$nops" -v f="$FILES" 'BEGIN { printf "%.1f", n / f }') per file of the tree)."
  echo "Idle (swapper) is time both CPUs waited: a latency-bound workload (round trips), not a CPU-bound one."
  echo
  echo "## By process (comm)"
  echo '```'
  perf report -i "$WORK/perf.data" --stdio --no-children -g none --sort comm --percent-limit 1 2>/dev/null | grep -v '^#' | grep -v '^$' | head -20
  echo '```'
  echo
  echo "## Top symbols (all processes, kernel and user)"
  echo '```'
  perf report -i "$WORK/perf.data" --stdio --no-children -g none --sort comm,dso,sym --percent-limit 0.7 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40
  echo '```'
  echo
  echo "## Where the host's and the application's kernel time goes (callers, >= 3%)"
  echo '```'
  perf report -i "$WORK/perf.data" --stdio --no-children --comms bentofs,tar,python3,grep -g caller,0.5,callee,function,percent --percent-limit 3 2>/dev/null | grep -v '^#' | grep -v '^$' | head -80
  echo '```'
  echo
  echo "## Inside the bentofs host (its threads only)"
  echo '```'
  perf report -i "$WORK/perf.data" --stdio --no-children -g none --comms bentofs --sort dso,sym --percent-limit 0.5 2>/dev/null | grep -v '^#' | grep -v '^$' | head -30
  echo '```'
} >"$OUT/profile.md"
echo "profile.sh: $WL took ${secs} s under perf; report: $OUT/profile.md"
