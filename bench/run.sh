#!/usr/bin/env bash
# Bento vs ext4 vs plain FUSE, side by side, in one command. See bench/README.md.
#
#   bench/run.sh [--quick|--full] [--out DIR] [--reps N] [--systems a,b,..] [--workloads a,b,..]
#                [--no-build] [--profile] [--update-readme] [--no-probes] [--no-ingest]
#
# --profile: afterwards, profile Bento-fs's biggest gap to ext4 (bench/profile.sh) and name
# its cause in the report (measured rather than guessed). --update-readme: rewrite README.md's
# benchmark summary (between <!-- bench-summary:begin/end -->) from this run; implies --profile.
# Bento-prov runs under the real collector (provd, eBPF probes unless --no-probes or no BTF);
# bench_ingest measures ingest rate, bytes/event and prov why latency (skip: --no-ingest).
# Systems "memfs" and "memfs-wt" (default): FUSE's floor, the same bentofs host with the
# in-memory example fs (kernel/examples/memfs: no block I/O), with the kernel's writeback cache
# and without it (-o writethrough: every write reaches the fs, as with Bento-fs); nothing
# survives their unmount, so they run only the workloads that need no remount: untar,
# smallfiles (creates), mix.
# Systems "bento-fs-uring", "memfs-uring", "memfs-wt-uring" (not default): the same as
# bento-fs / memfs / memfs-wt over FUSE-over-io_uring (bentofs -o uring; Linux 6.14+ with
# the fuse module's enable_uring switch, which bentofs turns on); dropped with a warning
# where the kernel has none. With bento-fs-uring, workload "upgrade" also runs bench_upgrade
# over io_uring.
# Workload "upgrade" (default; needs bento-fs or bento-prov in --systems): the live-upgrade
# experiment, bench_timeline (ops per 5 ms across an upgrade Bento-fs -> Bento-prov) and
# bench_upgrade (pause over many upgrades of Bento-fs), on mounts of their own. Workload
# "bigdir" (default): one directory of 100,000 (--full: 1,000,000) entries, once per system:
# create, random lookups, listing, delete (Bento: fsck.bento -n with the entries and after).
#
# Needs root (loop devices, mounts, drop_caches). Everything it mounts lives under a private
# mktemp dir in /tmp; a trap unmounts it all, detaches its loop devices and removes its
# images on exit, failure or Ctrl-C.
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIB=$REPO/bench/lib
BUILD=${BENTO_BUILD_DIR:-$REPO/build/default}  # another build: BENTO_BUILD_DIR=...
BIN=$BUILD/bin
MODDIR=$BUILD/modules

MODE=quick
OUT=$REPO/bench/results
REPS=""
SYSTEMS="ext4-ordered,ext4-journal,bindfs,memfs,memfs-wt,bento-fs,bento-prov"
WORKLOADS=""
DO_BUILD=1
DO_PROFILE=0
DO_README=0
DO_INGEST=1
PROVD_PROBES=1
PROVD_PID=""

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --out) OUT=$2; shift ;;
    --reps) REPS=$2; shift ;;
    --systems) SYSTEMS=$2; shift ;;
    --workloads) WORKLOADS=$2; shift ;;
    --no-build) DO_BUILD=0 ;;
    --profile) DO_PROFILE=1 ;;
    --update-readme) DO_README=1; DO_PROFILE=1 ;;
    --no-probes) PROVD_PROBES=0 ;;
    --no-ingest) DO_INGEST=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

if [ "$MODE" = quick ]; then
  : "${REPS:=3}"; INGEST_ARGS=(--quick); LINEAGE_ARGS=(--quick); TREE_FILES=10500; IO_MB=256; SMALL_N=10000; SMALL_SIZE=4096
  IMG_SIZE=2G; BENTO_INODES=131072; EXT4_INODES=""; RANDREAD_SECS=3; SQL_TX=300; SQL_ROWS=20000
  BIGDIR_N=100000
  : "${WORKLOADS:=untar,tar,grep,smallfiles,seqio,mix,gitclone,sqlite,bigdir,upgrade}"; MIX_SECS=4; MIX_FILES=300
  TIMELINE_ARGS=(--quick); UPGRADE_ARGS=(--upgrades 20 --size-mb 256)
else
  : "${REPS:=5}"; INGEST_ARGS=(--events 1000000); LINEAGE_ARGS=(); TREE_FILES=32000; IO_MB=1024; SMALL_N=10000; SMALL_SIZE=4096
  # bigdir's 1,000,000 entries (+ the 32k-file tree) need more inodes than one per 16 KiB
  # (mkfs defaults, 393,216 on 6 GiB): 1.5M slots = 384 MiB of inode table on either fs
  IMG_SIZE=6G; BENTO_INODES=1572864; EXT4_INODES=1572864; RANDREAD_SECS=20; SQL_TX=2000; SQL_ROWS=200000
  BIGDIR_N=1000000
  : "${WORKLOADS:=untar,tar,grep,smallfiles,seqio,mix,gitclone,sqlite,bigdir,upgrade}"; MIX_SECS=20; MIX_FILES=1000
  TIMELINE_ARGS=(--seconds 4 --size-mb 1024); UPGRADE_ARGS=(--upgrades 200 --size-mb 256)
fi

[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root (loop devices, mounts, drop_caches)" >&2; exit 1; }

# ---------------------------------------------------------------- run dir, logging
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RUN=$OUT/$STAMP
mkdir -p "$RUN"
# keep results out of git when they land in the default place inside the repo
[ -e "$OUT/.gitignore" ] || [ "$OUT" != "$REPO/bench/results" ] || printf '*\n' >"$OUT/.gitignore"
RUN=$(cd "$RUN" && pwd)
LOG=$RUN/run.log
SAMPLES=$RUN/samples.tsv
: >"$SAMPLES"
T_START=$EPOCHREALTIME
NOTES=()

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$LOG"; }
die() { say "FATAL: $*"; exit 1; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }

# record SYSTEM WORKLOAD METRIC UNIT BETTER REP VALUE  (also prints the progress line)
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$SAMPLES"
  printf '[%s] %-13s %-10s rep %s/%s  %-28s %10.3f %s\n' "$(date +%H:%M:%S)" "$1" "$2" "$6" \
    "${nrep:-$REPS}" "$3" "$7" "$4" | tee -a "$LOG"
}

# ---------------------------------------------------------------- cleanup (trap)
WORK=""
LOOPS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # the collector holds the log file open on the Bento-prov mount: stop it first
  if [ -n "$PROVD_PID" ]; then
    kill -TERM "$PROVD_PID" 2>/dev/null || true
    local i
    for i in $(seq 1 300); do kill -0 "$PROVD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PROVD_PID" 2>/dev/null || true
    wait "$PROVD_PID" 2>/dev/null || true
    PROVD_PID=""
  fi
  [ -n "$WORK" ] || exit $rc
  # every mount under our private dir, deepest first
  local m
  for m in $(awk -v p="$WORK/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r); do
    case "$m" in
      */bento-fs|*/bento-prov|*/memfs|*/memfs-wt|*-uring) "$BIN/bentoctl" unmount "$m" --timeout 120 >>"$LOG" 2>&1 || fusermount3 -uz "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true ;;
      */bindfs) fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || true ;;
      *) umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true ;;
    esac
  done
  local l
  for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null || true; done
  # anything still attached to one of our images
  for l in $(losetup -n -O NAME,BACK-FILE 2>/dev/null | awk -v p="$WORK/" 'index($2, p) == 1 { print $1 }'); do
    losetup -d "$l" 2>/dev/null || true
  done
  if awk -v p="$WORK/" 'index($2, p) == 1 { f = 1 } END { exit !f }' /proc/mounts; then
    echo "run.sh: WARNING: mounts left under $WORK, not removing it" >&2
  else
    rm -rf "$WORK"
  fi
  [ $rc -eq 0 ] || echo "run.sh: exited with status $rc; partial results in $RUN" >&2
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
WORK=$(mktemp -d /tmp/bento-bench.XXXXXX)
mkdir -p "$WORK/img" "$WORK/mnt"
PROV_DB=$WORK/prov.db

# ---------------------------------------------------------------- build + tools
for t in mkfs.ext4 losetup bindfs fusermount3 tar grep python3 git sqlite3; do
  command -v "$t" >/dev/null || die "missing $t (bash scripts/install-deps.sh)"
done
HAVE_FIO=1
command -v fio >/dev/null || { HAVE_FIO=0; NOTES+=("fio not installed: seqio skipped (bash scripts/install-deps.sh adds it)"); }

BUILD_STATUS="not built (--no-build)"
if [ $DO_BUILD -eq 1 ]; then
  TARGETS=(bentofs bentoctl mkfs.bento fsck.bento bento_fs bento_prov memfs prov provd bench_mix bench_ingest bench_lineage)
  case ",$WORKLOADS," in *,upgrade,*) TARGETS+=(bench_timeline bench_upgrade) ;; esac
  say "building (cmake preset default: ${TARGETS[*]})"
  if (cd "$REPO" && cmake --preset default >>"$LOG" 2>&1 &&
      cmake --build --preset default -j2 --target "${TARGETS[@]}" >>"$LOG" 2>&1); then
    BUILD_STATUS="built from working tree"
  else
    [ -x "$BIN/bentofs" ] && [ -f "$MODDIR/bento_fs.so" ] || die "build failed, see $LOG"
    BUILD_STATUS="BUILD FAILED (others editing?): used existing binaries"
    NOTES+=("build failed (see run.log); bento-fs numbers come from the binaries already in build/default")
    say "WARNING: build failed, using existing binaries"
  fi
fi
for f in "$BIN/bentofs" "$BIN/bentoctl" "$BIN/mkfs.bento" "$MODDIR/bento_fs.so"; do
  [ -e "$f" ] || die "missing $f"
done
case ",$SYSTEMS," in *,memfs,*|*,memfs-wt,*|*,memfs-uring,*|*,memfs-wt-uring,*) [ -e "$MODDIR/memfs.so" ] || die "missing $MODDIR/memfs.so (memfs needs it)" ;; esac
case ",$SYSTEMS," in
  *,bento-prov,*) for f in "$MODDIR/bento_prov.so" "$BIN/provd"; do [ -e "$f" ] || die "missing $f (bento-prov needs it)"; done ;;
esac
INGEST_BIN=$BIN/bench_ingest
[ -x "$INGEST_BIN" ] || INGEST_BIN=$BUILD/bench/prov/bench_ingest  # built before it moved to bin/
if [ $DO_INGEST -eq 1 ] && [ ! -x "$INGEST_BIN" ]; then
  DO_INGEST=0
  NOTES+=("bench_ingest is not built: no collector ingest / prov why figures in this run")
fi

# the live-upgrade experiment (workload "upgrade"): not per system, run once after the loop
DO_UPGRADE=0
case ",$WORKLOADS," in
  *,upgrade,*)
    TIMELINE_BIN=$BUILD/bench/upgrade/bench_timeline
    UPGRADE_BIN=$BUILD/bench/upgrade/bench_upgrade
    case ",$SYSTEMS," in
      *,bento-fs,*|*,bento-fs-uring,*|*,bento-prov,*)
        if [ -x "$TIMELINE_BIN" ] && [ -x "$UPGRADE_BIN" ] && [ -f "$MODDIR/bento_prov.so" ]; then
          DO_UPGRADE=1
        else
          NOTES+=("bench_timeline/bench_upgrade (or bento_prov.so) not built: no live-upgrade figures in this run")
        fi ;;
      *) NOTES+=("workload upgrade skipped: it needs bento-fs or bento-prov in --systems") ;;
    esac ;;
esac
WORKLOADS=$(printf '%s' ",$WORKLOADS," | sed 's/,upgrade,/,/g; s/^,//; s/,$//')

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "mode=$MODE reps=$REPS nproc=$(nproc) load=$LOAD_START kernel=$(uname -r) work=$WORK out=$RUN"

# ---------------------------------------------------------------- the tree
case ",$WORKLOADS," in *,untar,*|*,tar,*|*,grep,*|*,gitclone,*) NEED_TREE=1 ;; *) NEED_TREE=0 ;; esac
if [ $NEED_TREE -eq 0 ]; then
  TREE_INFO="not generated (no workload in this run uses it)"
else
  say "generating the source-like tree ($TREE_FILES files, deterministic)"
  TREE_INFO=$(python3 "$LIB/gen_tree.py" "$WORK/tree" "$WORK/tree.tar" --files "$TREE_FILES")
  TREE_INFO="$TREE_INFO, tar $(( $(stat -c %s "$WORK/tree.tar") / 1048576 )) MiB"
  rm -rf "$WORK/tree"
  say "tree: $TREE_INFO"
fi
NEEDLE=BENTO_BENCH_NEEDLE
NEEDLE_FILES=7

# ---------------------------------------------------------------- file systems
MNT=""
BACK=""
LOOP=""
IMG=""

new_loop() {  # new_loop IMAGE -> sets LOOP
  LOOP=$(losetup -f --show "$1")
  LOOPS+=("$LOOP")
}
del_loop() {
  [ -n "$LOOP" ] || return 0
  losetup -d "$LOOP"
  local l keep=()
  for l in "${LOOPS[@]}"; do [ "$l" = "$LOOP" ] || keep+=("$l"); done
  LOOPS=("${keep[@]+"${keep[@]}"}")
  LOOP=""
}
# EXT4_INODES (--full: for bigdir's 1M entries), else mkfs's one inode per 16 KiB
mkfs_ext4() { mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 ${EXT4_INODES:+-N "$EXT4_INODES"} "$1"; }

is_memfs() { case "$1" in memfs|memfs-wt|memfs-uring|memfs-wt-uring) return 0 ;; *) return 1 ;; esac; }
is_bento() { case "$1" in bento-fs|bento-fs-uring|bento-prov) return 0 ;; *) return 1 ;; esac; }
# A -uring system must really be served over io_uring (bentofs falls back to /dev/fuse
# with a log line otherwise): its figures would be mislabelled.
check_uring() {
  local i t=""
  stat "$MNT" >/dev/null 2>&1 || true
  for i in $(seq 1 100); do
    t=$("$BIN/bentoctl" status "$MNT" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("transport",""))' 2>/dev/null || true)
    case "$t" in io_uring*) return 0 ;; esac
    sleep 0.02
  done
  die "$1: bentofs serves over '$t', not io_uring (see run.log)"
}
mount_fs() {  # mount the current system's existing image
  case "$1" in
    ext4-ordered) mount -o data=ordered "$LOOP" "$MNT" ;;
    ext4-journal) mount -o data=journal "$LOOP" "$MNT" ;;
    bindfs) mount -o data=ordered "$LOOP" "$BACK" && bindfs "$BACK" "$MNT" ;;
    bento-fs) "$BIN/bentofs" "$IMG" "$MNT" --module "$MODDIR/bento_fs.so" >>"$LOG" 2>&1 ;;
    memfs) "$BIN/bentofs" "$IMG" "$MNT" --module "$MODDIR/memfs.so" >>"$LOG" 2>&1 ;;
    memfs-wt) "$BIN/bentofs" "$IMG" "$MNT" --module "$MODDIR/memfs.so" -o writethrough >>"$LOG" 2>&1 ;;
    bento-fs-uring) "$BIN/bentofs" "$IMG" "$MNT" --module "$MODDIR/bento_fs.so" -o uring >>"$LOG" 2>&1 && check_uring "$1" ;;
    memfs-uring) "$BIN/bentofs" "$IMG" "$MNT" --module "$MODDIR/memfs.so" -o uring >>"$LOG" 2>&1 && check_uring "$1" ;;
    memfs-wt-uring) "$BIN/bentofs" "$IMG" "$MNT" --module "$MODDIR/memfs.so" -o writethrough,uring >>"$LOG" 2>&1 && check_uring "$1" ;;
    bento-prov)
      "$BIN/bentofs" "$IMG" "$MNT" --module "$MODDIR/bento_prov.so" >>"$LOG" 2>&1
      # The real collector reads the log into the lineage database and acknowledges it
      # (otherwise the log fills and records are not written: a gap). It holds the log file open,
      # so it runs from mount to unmount; the database and its cursor carry over.
      collector_start ;;
  esac
}
# fs_quiesce SYSTEM: before a timed unmount, stop what is not the file system's own work
# (bento-prov: the collector drains the log and exits, untimed; its drain time is recorded)
fs_quiesce() { [ "$1" != bento-prov ] || collector_stop; }
umount_fs() {
  case "$1" in
    ext4-*) umount "$MNT" ;;
    bindfs) fusermount3 -u "$MNT" && umount "$BACK" ;;
    bento-fs|memfs|memfs-wt|*-uring) "$BIN/bentoctl" unmount "$MNT" --timeout 300 >>"$LOG" 2>&1 ;;
    bento-prov)
      collector_stop
      "$BIN/bentoctl" unmount "$MNT" --timeout 300 >>"$LOG" 2>&1 ;;
  esac
}

# ---------------------------------------------------------------- the collector (bento-prov)
# provd --db $PROV_DB --mount $MNT, with the eBPF probes unless --no-probes (or they cannot
# be loaded: then --no-probes, noted in the report). One database for the whole bento-prov
# run: every remount (cold caches) stops provd with SIGTERM (it drains and exits) and starts
# it again, resuming at the cursor it committed. Per stop, collector-stops.tsv gets: drain
# seconds (SIGTERM -> exit), provd CPU seconds (user+sys of this instance, from `times`),
# exit status, and the fs log's counters (next_seq, refused, ...).
PROVD_LOG=$RUN/provd.log
PROVD_STOPS=$RUN/collector-stops.tsv
PROVD_WAITS=$RUN/collector-waits.tsv
# PROV_DB=$WORK/prov.db: set where $WORK is made
PROVD_STARTS=0
PROBES_FALLBACK=""
cpu_now() {  # cpu_now VAR: user+sys of this shell's reaped children so far, "M S M S" (no fork)
  local l
  times >"$WORK/times"
  { read -r l; read -r l; } <"$WORK/times"
  if [[ $l =~ ^([0-9]+)m([0-9.]+)s\ ([0-9]+)m([0-9.]+)s ]]; then
    printf -v "$1" '%s' "${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]} ${BASH_REMATCH[4]}"
  else
    printf -v "$1" '0 0 0 0'
  fi
}
cpu_diff() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.3f", (y[1] - x[1]) * 60 + y[2] - x[2] + (y[3] - x[3]) * 60 + y[4] - x[4] }'; }
provlog_info() {  # the mount's log counters as key=value,key=value
  python3 -c 'import os, sys; print(",".join(os.getxattr(sys.argv[1] + "/.bento-provlog", "trusted.bento.prov.info").decode().split()))' "$MNT" 2>/dev/null || echo unavailable
}
# settle SYSTEM: before each timed step, untimed. bento-prov: wait until the collector has
# caught up with the log (unacknowledged bytes <= 64 KiB, at most 300 s), or a workload that
# logs faster than provd ingests fills the log and leaves a gap in a later step. The backlog
# found and the wait go to collector-waits.tsv (the report shows both).
settle() {
  [ "$1" = bento-prov ] && [ -n "$PROVD_PID" ] || return 0
  local a i lag first=""
  a=$EPOCHREALTIME
  for i in $(seq 1 1200); do
    lag=$(provlog_lag)
    [ -n "$first" ] || first=$lag
    [ "$lag" -gt 65536 ] || break
    kill -0 "$PROVD_PID" 2>/dev/null || { say "WARNING: provd is not running (see provd.log)"; break; }
    sleep 0.25
  done
  [ "$lag" -le 65536 ] || say "WARNING: the collector is still $lag bytes behind after 300 s"
  printf '%s\t%s\t%s\n' "$2" "$first" "$(elapsed "$a" "$EPOCHREALTIME")" >>"$PROVD_WAITS"
}
provlog_lag() {  # bytes written to the log and not yet acknowledged (tail - head); -1: unknown
  python3 -c 'import os, sys
d = dict(l.split("=", 1) for l in os.getxattr(sys.argv[1] + "/.bento-provlog", "trusted.bento.prov.info").decode().split())
print(int(d["tail"]) - int(d["head"]))' "$MNT" 2>/dev/null || echo -1
}
collector_start() {
  local args=(--db "$PROV_DB" --mount "$MNT") before i rc=0
  [ -e "$PROVD_LOG" ] || : >"$PROVD_LOG"
  [ $PROVD_PROBES -eq 1 ] || args+=(--no-probes)
  before=$(grep -c '^provd: collecting' "$PROVD_LOG" || true)
  "$BIN/provd" "${args[@]}" >>"$PROVD_LOG" 2>&1 &
  PROVD_PID=$!
  # ready once it says so (probes attached, log opened, cursor loaded)
  for i in $(seq 1 600); do
    if [ "$(grep -c '^provd: collecting' "$PROVD_LOG" || true)" -gt "$before" ]; then
      PROVD_STARTS=$((PROVD_STARTS + 1))
      return 0
    fi
    kill -0 "$PROVD_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$PROVD_PID" 2>/dev/null || true
  wait "$PROVD_PID" || rc=$?
  PROVD_PID=""
  if [ $PROVD_PROBES -eq 1 ]; then
    PROVD_PROBES=0
    PROBES_FALLBACK="$(grep '^provd:' "$PROVD_LOG" | tail -1 | cut -c1-300)"
    say "WARNING: provd could not start with the eBPF probes (exit $rc: $PROBES_FALLBACK); falling back to --no-probes"
    collector_start
    return
  fi
  die "provd did not start (exit $rc), see $PROVD_LOG"
}
collector_stop() {
  [ -n "$PROVD_PID" ] || return 0
  local a b c0 c1 rc=0
  if ! kill -0 "$PROVD_PID" 2>/dev/null; then
    say "WARNING: provd had exited before it was stopped (see provd.log)"
    NOTES+=("provd exited on its own during the bento-prov run (see provd.log)")
  fi
  cpu_now c0
  a=$EPOCHREALTIME
  kill -TERM "$PROVD_PID" 2>/dev/null || true
  for _ in $(seq 1 3000); do kill -0 "$PROVD_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$PROVD_PID" 2>/dev/null; then
    say "WARNING: provd still draining 300 s after SIGTERM: killed"
    NOTES+=("provd did not finish its drain within 300 s of SIGTERM and was killed")
    kill -KILL "$PROVD_PID" 2>/dev/null || true
  fi
  wait "$PROVD_PID" || rc=$?
  b=$EPOCHREALTIME
  cpu_now c1
  PROVD_PID=""
  [ $rc -eq 0 ] || say "WARNING: provd exited with status $rc (see provd.log)"
  # with the log's counters after the drain (what the fs wrote, refused, acknowledged)
  printf '%s\t%s\t%s\t%s\t%s\n' "$(elapsed "$a" "$b")" "$(cpu_diff "$c0" "$c1")" "$rc" "$(provlog_info)" \
    "$(provd_status)" >>"$PROVD_STOPS"
}
provd_status() {  # what the instance that just exited wrote into meta (provd_status JSON), or {}
  python3 -c 'import sqlite3, sys
try:
    r = sqlite3.connect(sys.argv[1]).execute("SELECT value FROM meta WHERE key = ?", ("provd_status",)).fetchone()
    print(r[0] if r else "{}")
except Exception:
    print("{}")' "$PROV_DB"
}
# collector.json: the collector's own figures for the bento-prov run: fs records (the
# per-source counter it commits with the records), probe events (the counter each provd
# instance leaves in meta.provd_status; else estimated from the rows they create), rows per
# table, the database size after a WAL checkpoint, the stops (drain time, CPU, exit status,
# the fs log's counters) and the catch-up waits.
collector_summary() {
  python3 - "$PROV_DB" "$PROVD_STOPS" "$PROVD_LOG" "$PROVD_STARTS" "$PROVD_PROBES" "$PROBES_FALLBACK" "$RUN/collector.json" "$PROVD_WAITS" <<'PY'
import json, os, sqlite3, sys
db, stops_f, log_f, starts, probes, fallback, out_f, waits_f = sys.argv[1:9]
c = sqlite3.connect(db)
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
q = lambda sql: c.execute(sql).fetchone()[0] or 0
tables = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
rows = {t: q(f'SELECT count(*) FROM "{t}"') for t in tables}
fs_records = q("SELECT sum(records) FROM sources WHERE kind = 'fs'")
# probe events by the rows they leave: exec -> an 'exec' activity; process fork -> a 'fork'
# activity; thread fork -> a tasks row of its own (every process brings exactly one);
# exit -> a task with end_ns (approximate: exits of threads provd never saw leave nothing)
probe = {"exec": q("SELECT count(*) FROM activities WHERE origin = 'exec'"),
         "fork": q("SELECT count(*) FROM activities WHERE origin = 'fork'"),
         "thread": rows.get("tasks", 0) - rows.get("processes", 0),
         "exit": q("SELECT count(*) FROM tasks WHERE end_ns IS NOT NULL")}
out = {
    "probes": probes == "1", "probes_fallback_reason": fallback,
    "fs_records": fs_records,
    "malformed": q("SELECT sum(malformed) FROM sources WHERE kind = 'fs'"),
    "probe_lost": q("SELECT sum(lost) FROM sources WHERE kind = 'probes'"),
    "probe_events": sum(probe.values()), "probe_events_source": "rows",
    "probe_events_from_rows": sum(probe.values()), "probe_events_by_kind": probe,
    "observed_activities": q("SELECT count(*) FROM activities WHERE origin = 'observed'"),
    "rows": rows,
}
c.close()
out["events"] = out["fs_records"] + out["probe_events"]
size = sum(os.path.getsize(db + x) for x in ("", "-wal") if os.path.exists(db + x))
out["db_bytes"] = size
out["bytes_per_event"] = size / out["events"] if out["events"] else 0.0
out["bytes_per_fs_record"] = size / fs_records if fs_records else 0.0
stops = []
for line in open(stops_f):
    f = line.rstrip("\n").split("\t")
    d, cpu, rc, info = f[:4]
    kv = dict(x.split("=", 1) for x in info.split(",") if "=" in x)
    try:
        status = json.loads(f[4]) if len(f) > 4 else {}
    except ValueError:
        status = {}
    stops.append({"drain_s": float(d), "cpu_s": float(cpu), "rc": int(rc),
                  "log": {k: int(v) for k, v in kv.items()}, "provd_status": status})
# provd's own probe counter (meta.provd_status, written at its final drain), per instance
counts = [s["provd_status"].get("probes", {}).get("events") for s in stops]
if out["probes"] and stops and all(isinstance(c, int) for c in counts):
    out["probe_events"] = sum(counts)
    out["probe_events_source"] = "provd_status"
    out["events"] = out["fs_records"] + out["probe_events"]
    out["bytes_per_event"] = size / out["events"] if out["events"] else 0.0
waits = []
if os.path.exists(waits_f):
    for line in open(waits_f):
        label, lag, secs = line.rstrip("\n").split("\t")
        waits.append((label, int(lag), float(secs)))
out["waits"] = len(waits)
out["backlog_max_bytes"] = max((w[1] for w in waits), default=0)
out["backlog_max_at"] = max(waits, key=lambda w: w[1])[0] if waits else None
out["catch_up_s_total"] = sum(w[2] for w in waits)
out["catch_up_s_max"] = max((w[2] for w in waits), default=0.0)
out["starts"] = int(starts)
out["stops"] = len(stops)
out["drain_s_max"] = max((s["drain_s"] for s in stops), default=0.0)
out["drain_s_total"] = sum(s["drain_s"] for s in stops)
out["cpu_s"] = sum(s["cpu_s"] for s in stops)
out["cpu_us_per_event"] = out["cpu_s"] * 1e6 / out["events"] if out["events"] else 0.0
out["bad_exits"] = sum(1 for s in stops if s["rc"] != 0)
last = next((s["log"] for s in reversed(stops) if s["log"]), {})
out["fs_records_written"] = last.get("next_seq", 1) - 1 if last else None
out["log_refused"] = last.get("refused") if last else None
out["log_capacity"] = last.get("capacity") if last else None
msgs = [l.strip() for l in open(log_f) if l.startswith("provd:")]
out["log_messages"] = sum(1 for m in msgs if not m.startswith(("provd: collecting", "provd: stopped after")))
out["log_sample"] = [m for m in msgs if not m.startswith(("provd: collecting", "provd: stopped after"))][:5]
json.dump(out, open(out_f, "w"), indent=1)
print(f"collector (provd{' + eBPF probes' if out['probes'] else ' --no-probes'}): {out['events']} events "
      f"({out['fs_records']} fs records of {out['fs_records_written']} the fs wrote, {out['probe_events']} probe events), "
      f"db {size / 1048576:.1f} MiB = {out['bytes_per_event']:.0f} bytes/event; {out['stops']} stops, "
      f"longest drain {out['drain_s_max']:.2f} s, CPU {out['cpu_s']:.1f} s; backlog up to "
      f"{out['backlog_max_bytes'] / 1048576:.1f} MiB, {out['catch_up_s_total']:.0f} s waited for it to catch up")
PY
}
setup_fs() {  # fresh image + mkfs + mount
  local sys=$1
  MNT=$WORK/mnt/$sys
  BACK=$WORK/mnt/$sys.backing
  IMG=$WORK/img/$sys.img
  mkdir -p "$MNT"
  rm -f "$IMG"
  truncate -s "$IMG_SIZE" "$IMG"
  case "$sys" in
    ext4-*) mkfs_ext4 "$IMG" ; new_loop "$IMG" ;;
    bindfs) mkdir -p "$BACK"; mkfs_ext4 "$IMG"; new_loop "$IMG" ;;
    bento-fs|bento-fs-uring|bento-prov) "$BIN/mkfs.bento" -N "$BENTO_INODES" "$IMG" >>"$LOG" 2>&1 ;;
  esac
  mount_fs "$sys"
}
teardown_fs() {
  umount_fs "$1"
  if is_bento "$1"; then
    "$BIN/fsck.bento" "$IMG" >>"$LOG" 2>&1 || { say "WARNING: fsck.bento $IMG exit $?"; NOTES+=("fsck.bento reported problems after the run (see run.log)"); }
  fi
  del_loop
  rm -f "$IMG"
}
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
# Cold = unmount + drop the page/dentry/inode caches + mount again, so userspace caches
# (bentofs's buffer cache, bindfs) start empty too.
cold() { sync; umount_fs "$1"; drop_caches; mount_fs "$1"; }

# timed VAR cmd...: runs cmd, stores wall seconds in VAR
timed() {
  local __v=$1; shift
  local a=$EPOCHREALTIME
  "$@"
  local b=$EPOCHREALTIME
  printf -v "$__v" '%s' "$(elapsed "$a" "$b")"
}

# ---------------------------------------------------------------- workloads
declare -A WL_DESC
WL_DESC[untar]="tar -xf of the generated tree into the fs (tarball pre-read into the host page cache; fs cold: remount + drop_caches); then the unmount is timed too (\"untar + unmount\": everything written back to the image; \`sync -f\` would not do for bento-fs, bentofs has no FUSE syncfs). rm -rf of the previous rep's tree (warm) is timed too (reps-1 samples)."
wl_untar() {
  local sys=$1 rep=$2 t t2
  if [ -d "$MNT/untar" ]; then
    timed t rm -rf "$MNT/untar"; record "$sys" untar "rm -rf tree" s lower "$((rep - 1))" "$t"
  fi
  cold "$sys"
  cat "$WORK/tree.tar" >/dev/null
  mkdir "$MNT/untar"
  timed t tar -xf "$WORK/tree.tar" -C "$MNT/untar"; record "$sys" untar "untar" s lower "$rep" "$t"
  fs_quiesce "$sys"
  timed t2 umount_fs "$sys"
  record "$sys" untar "untar + unmount" s lower "$rep" "$(awk -v a="$t" -v b="$t2" 'BEGIN { print a + b }')"
  mount_fs "$sys"
}
need_tree() { [ -d "$MNT/untar/src" ] || { tar -xf "$WORK/tree.tar" -C "$MNT/untar" 2>/dev/null || { mkdir -p "$MNT/untar" && tar -xf "$WORK/tree.tar" -C "$MNT/untar"; }; sync -f "$MNT/untar"; }; }

WL_DESC[tar]="\`tar -cf - src | cat >/dev/null\` of the untarred tree, cold (remount + drop_caches). The pipe matters: GNU tar skips reading file data when writing straight to /dev/null."
tar_pipe() { tar -cf - -C "$MNT/untar" src | cat >/dev/null; }
wl_tar() {
  local sys=$1 rep=$2 t
  need_tree
  cold "$sys"
  timed t tar_pipe; record "$sys" tar "tar to /dev/null (cold)" s lower "$rep" "$t"
}

WL_DESC[grep]="\`grep -r $NEEDLE\` over the tree (matches in $NEEDLE_FILES files, checked): cold (remount + drop_caches), then the same again warm."
grep_tree() {
  local n
  n=$(grep -rl "$NEEDLE" "$MNT/untar/src" | wc -l)
  [ "$n" -eq "$NEEDLE_FILES" ] || die "grep found $n files, expected $NEEDLE_FILES"
}
wl_grep() {
  local sys=$1 rep=$2 t
  need_tree
  cold "$sys"
  timed t grep_tree; record "$sys" grep "grep -r cold" s lower "$rep" "$t"
  timed t grep_tree; record "$sys" grep "grep -r warm" s lower "$rep" "$t"
}

WL_DESC[smallfiles]="One thread creates $SMALL_N files of $SMALL_SIZE B in one new directory (open O_CREAT, one write, close; python loop, interpreter start-up excluded); \"create + unmount\" adds the unmount (all written back); after mounting again (caches dropped) one thread unlinks them all (\"delete, cold\")."
wl_smallfiles() {
  local sys=$1 rep=$2 t t2
  sync
  t=$(python3 "$LIB/smallfiles.py" create "$MNT/small" "$SMALL_N" "$SMALL_SIZE")
  record "$sys" smallfiles "create ${SMALL_N} x ${SMALL_SIZE}B" s lower "$rep" "$t"
  fs_quiesce "$sys"
  timed t2 umount_fs "$sys"
  record "$sys" smallfiles "create + unmount" s lower "$rep" "$(awk -v a="$t" -v b="$t2" 'BEGIN { print a + b }')"
  drop_caches
  mount_fs "$sys"
  ! is_memfs "$sys" || return 0  # its files went with the unmount
  t=$(python3 "$LIB/smallfiles.py" delete "$MNT/small" "$SMALL_N")
  record "$sys" smallfiles "delete ${SMALL_N}, cold" s lower "$rep" "$t"
}

WL_DESC[seqio]="fio (psync, buffered, fallocate=none, invalidate=0) on one ${IO_MB} MiB file: sequential write with 1 MiB and 4 KiB ops incl. the final fsync (MiB/s from wall time); cold sequential reads (remount + drop_caches) with 1 MiB and 4 KiB ops; the 1 MiB read repeated at once (cached); random 4 KiB reads, cold, for at most ${RANDREAD_SECS} s (IOPS); cached sequential reads and random writes (+fsync) with 32 KiB and 128 KiB ops; then 4 threads (fio numjobs=4, a quarter-size file each): sequential 128 KiB writes + fsync, and cold random 4 KiB reads."
fio_run() {  # fio_run RW BS [extra fio args] ; writes $WORK/fio.json
  local rw=$1 bs=$2; shift 2
  fio --name=bench --filename="$MNT/io.dat" --rw="$rw" --bs="$bs" --size="${IO_MB}M" \
    --ioengine=psync --direct=0 --fallocate=none --invalidate=0 --numjobs=1 \
    --output-format=json --output="$WORK/fio.json" "$@" >>"$LOG" 2>&1
}
fio_get() {  # fio_get read|write bw_mib|iops
  python3 - "$WORK/fio.json" "$1" "$2" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0][sys.argv[2]]
print(j["bw_bytes"] / 1048576 if sys.argv[3] == "bw_mib" else j["iops"])
EOF
}
mibs() { awk -v m="$IO_MB" -v t="$1" 'BEGIN { printf "%.3f", m / t }'; }
wl_seqio() {
  local sys=$1 rep=$2 t
  rm -f "$MNT/io.dat"; sync
  timed t fio_run write 1M --end_fsync=1; record "$sys" seqio "seq write 1M" MiB/s higher "$rep" "$(mibs "$t")"
  rm -f "$MNT/io.dat"; sync
  timed t fio_run write 4k --end_fsync=1; record "$sys" seqio "seq write 4K" MiB/s higher "$rep" "$(mibs "$t")"
  cold "$sys"
  fio_run read 1M; record "$sys" seqio "seq read 1M cold" MiB/s higher "$rep" "$(fio_get read bw_mib)"
  fio_run read 1M; record "$sys" seqio "seq read 1M cached" MiB/s higher "$rep" "$(fio_get read bw_mib)"
  cold "$sys"
  fio_run read 4k; record "$sys" seqio "seq read 4K cold" MiB/s higher "$rep" "$(fio_get read bw_mib)"
  cold "$sys"
  fio_run randread 4k --runtime="$RANDREAD_SECS" --randrepeat=1; record "$sys" seqio "rand read 4K cold" IOPS higher "$rep" "$(fio_get read iops)"
  local bs
  for bs in 32k 128k; do
    fio_run read "$bs"; record "$sys" seqio "seq read ${bs^^} cached" MiB/s higher "$rep" "$(fio_get read bw_mib)"
    fio_run randwrite "$bs" --runtime="$RANDREAD_SECS" --end_fsync=1; record "$sys" seqio "rand write ${bs^^}" MiB/s higher "$rep" "$(fio_get write bw_mib)"
  done
  # many threads: 4 jobs, each on its own quarter-size file
  rm -f "$MNT"/io.dat*; sync
  timed t fio_mt write 128k --end_fsync=1; record "$sys" seqio "seq write 128K x4 threads" MiB/s higher "$rep" "$(mibs "$t")"
  cold "$sys"
  fio_mt randread 4k --runtime="$RANDREAD_SECS" --randrepeat=1; record "$sys" seqio "rand read 4K x4 threads cold" IOPS higher "$rep" "$(fio_get read iops)"
  rm -f "$MNT"/io.dat*
}
fio_mt() {  # like fio_run, 4 jobs on 4 files of IO_MB/4 each, results aggregated
  local rw=$1 bs=$2; shift 2
  fio --name=bench --directory="$MNT" --filename_format='io.dat.$jobnum' --rw="$rw" --bs="$bs" --size="$((IO_MB / 4))M" \
    --ioengine=psync --direct=0 --fallocate=none --invalidate=0 --numjobs=4 --group_reporting \
    --output-format=json --output="$WORK/fio.json" "$@" >>"$LOG" 2>&1
}

WL_DESC[mix]="bench_mix (filebench-like, 4 threads, ${MIX_SECS:-4} s each, ${MIX_FILES:-300}-file sets): varmail (delete, create+append+fsync, read+append+fsync, read), fileserver (128 KiB files in 20 dirs: create+write, append, read whole, delete, stat), webserver (10 whole-file reads + a 16 KiB log append; the log is truncated every 256 MiB), createdel (each thread creates and unlinks 4 KiB files in its own directory); ops/s, one op = one step."
wl_mix() {
  local sys=$1 rep=$2 p out
  for p in varmail fileserver webserver createdel; do
    rm -rf "$MNT/mix-$p"; sync
    settle "$sys" "mix $p rep $rep"
    if out=$("$BIN/bench_mix" --dir "$MNT" --personality "$p" --threads 4 --seconds "$MIX_SECS" --files "$MIX_FILES" 2>>"$LOG"); then
      record "$sys" mix "$p x4 threads" ops/s higher "$rep" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ops_per_s"])' "$out")"
    else
      # failed operations make the rate meaningless: no sample, a note in the report
      say "WARNING: bench_mix $p failed on $sys rep $rep: $out"
      NOTES+=("**$sys, mix $p rep $rep: failed operations, no sample** — $(python3 -c 'import json,sys
try:
    j = json.loads(sys.argv[1]); print("%s of %s steps failed, first: %s" % (j["errors"], j["ops"], j.get("first_error", "?")))
except Exception:
    print(sys.argv[1][:200])' "$out")")
    fi
    rm -rf "$MNT/mix-$p"
  done
}

WL_DESC[gitclone]="\`git clone --no-hardlinks file://REPO\` of a one-commit repository of the generated tree (built once per run in /tmp, fixed dates, packed), into the fs (pack transfer + checkout of every file), warm source; then \`git status\` in the clone, cold (remount + drop_caches; index refreshed beforehand, untimed). The clone is removed between reps (untimed)."
GITREPO=""
make_gitrepo() {
  [ -z "$GITREPO" ] || return 0
  GITREPO=$WORK/gitrepo
  mkdir -p "$GITREPO"
  tar -xf "$WORK/tree.tar" -C "$GITREPO"
  (cd "$GITREPO" && git init -q && git add -A &&
   GIT_AUTHOR_DATE=@1600000000 GIT_COMMITTER_DATE=@1600000000 git -c user.name=bench -c user.email=bench@localhost commit -q -m tree &&
   git repack -adq && git prune) >>"$LOG" 2>&1
  say "git repo of the tree: $(cd "$GITREPO" && git rev-parse --short HEAD)"
}
wl_gitclone() {
  local sys=$1 rep=$2 t
  make_gitrepo
  rm -rf "$MNT/clone"
  sync
  timed t git clone -q --no-hardlinks "file://$GITREPO" "$MNT/clone"; record "$sys" gitclone "git clone" s lower "$rep" "$t"
  # let the index be newer than every file, refresh it once (untimed): otherwise "racily
  # clean" entries make the timed status read file contents, depending on clone speed
  sleep 1.1
  git -C "$MNT/clone" status --porcelain >/dev/null
  cold "$sys"
  timed t git -C "$MNT/clone" status --porcelain; record "$sys" gitclone "git status (cold)" s lower "$rep" "$t"
  rm -rf "$MNT/clone"
}

WL_DESC[sqlite]="sqlite3 CLI (rollback journal, synchronous=FULL: one fsync-heavy commit per statement): $SQL_TX autocommit INSERTs of a 100-byte row into a new database, then $SQL_ROWS INSERTs in one transaction."
wl_sqlite() {
  local sys=$1 rep=$2 t
  rm -f "$MNT/bench.db" "$MNT/bench.db-journal"
  sqlite3 "$MNT/bench.db" "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
  timed t sqlite3 "$MNT/bench.db" <"$WORK/sql_tx.sql"; record "$sys" sqlite "$SQL_TX autocommit inserts" s lower "$rep" "$t"
  timed t sqlite3 "$MNT/bench.db" <"$WORK/sql_rows.sql"; record "$sys" sqlite "$SQL_ROWS inserts, 1 txn" s lower "$rep" "$t"
  [ "$(sqlite3 "$MNT/bench.db" 'SELECT count(*) FROM t;')" -eq $((SQL_TX + SQL_ROWS)) ] || die "sqlite row count wrong"
  rm -f "$MNT/bench.db"
}
make_sql() {
  python3 - "$WORK" "$SQL_TX" "$SQL_ROWS" <<'PY'
import sys
w, ntx, nrows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
row = "x" * 100
with open(f"{w}/sql_tx.sql", "w") as f:
    f.write("PRAGMA synchronous=FULL;\n")
    for i in range(ntx):
        f.write(f"INSERT INTO t(v) VALUES('{row}{i}');\n")
with open(f"{w}/sql_rows.sql", "w") as f:
    f.write("PRAGMA synchronous=FULL;\nBEGIN;\n")
    for i in range(nrows):
        f.write(f"INSERT INTO t(v) VALUES('{row}{i}');\n")
    f.write("COMMIT;\n")
PY
}

BIGDIR_LOOKUPS=10000
BIGDIR_MISSING=1000
BIGDIR_FSCK=()
WL_DESC[bigdir]="One directory of $BIGDIR_N entries, **once per system** (not per rep), one thread (python loop over os.* calls, interpreter start-up excluded): create $BIGDIR_N empty files (open O_CREAT|O_EXCL + close, warm, in a new directory); cold (remount + drop_caches): stat of $BIGDIR_LOOKUPS distinct random existing names, then of $BIGDIR_MISSING names that do not exist (ENOENT, each checked); cold again: list the directory (os.scandir, names only; the count must be exactly $BIGDIR_N); delete all $BIGDIR_N (unlink in creation order + rmdir, right after the listing). Rates in ops/s (entries/s for the listing). On bento-fs/bento-prov \`fsck.bento -n\` checks the image at the remount after the creates (with the $BIGDIR_N entries) and after the deletes."
# bigdir_remount SYSTEM LABEL: cold remount (untimed); on Bento, fsck.bento -n of the image in
# between (read-only, no journal replay: the unmount must have left it clean). Its verdict goes
# to the report's notes; the output to run.log.
bigdir_remount() {
  local sys=$1 label=$2 a rc=0 out
  sync
  a=$EPOCHREALTIME
  umount_fs "$sys"
  say "  bigdir on $sys: unmount $label took $(printf '%.1f' "$(elapsed "$a" "$EPOCHREALTIME")") s (untimed)"
  case "$sys" in
    bento-fs|bento-fs-uring|bento-prov)
      a=$EPOCHREALTIME
      out=$("$BIN/fsck.bento" -n "$IMG" 2>&1) || rc=$?
      printf 'fsck.bento -n %s (bigdir, %s): exit %s\n%s\n' "$IMG" "$label" "$rc" "$out" >>"$LOG"
      say "  bigdir on $sys: fsck.bento -n $label: exit $rc in $(printf '%.1f' "$(elapsed "$a" "$EPOCHREALTIME")") s: $(printf '%s' "$out" | tail -1 | cut -c1-200)"
      if [ $rc -eq 0 ]; then
        BIGDIR_FSCK+=("$sys $label: clean")
      else
        BIGDIR_FSCK+=("$sys $label: **exit $rc** ($(printf '%s' "$out" | tail -1 | cut -c1-200))")
        NOTES+=("**bigdir on $sys: \`fsck.bento -n\` $label: exit $rc** (see run.log): $(printf '%s' "$out" | tail -1 | cut -c1-200)")
      fi ;;
  esac
  drop_caches
  mount_fs "$sys"
}
# bigdir_fail SYSTEM STEP MESSAGE: the step failed (its message names the operation, the name
# and errno): no sample for it or the later steps, a note in the report, the directory removed
bigdir_fail() {
  say "WARNING: bigdir on $1: $2 failed: $3"
  NOTES+=("**bigdir on $1: $2 failed, no sample for it or the later steps** — $3")
  rm -rf "$MNT/bigdir" 2>>"$LOG" || say "WARNING: could not remove $MNT/bigdir"
}
wl_bigdir() {
  local sys=$1 rep=$2 out t tm n free
  BIGDIR_RAN=1
  rm -rf "$MNT/bigdir"
  free=$(python3 "$LIB/bigdir.py" free "$MNT")
  [ "$free" -lt 0 ] || [ "$free" -ge $((BIGDIR_N + 1)) ] ||
    die "bigdir: $sys has $free free inodes, $BIGDIR_N + 1 needed (raise BENTO_INODES / EXT4_INODES for --$MODE)"
  sync
  say "  bigdir on $sys: creating $BIGDIR_N files in one directory ($free inodes free)"
  out=$(python3 "$LIB/bigdir.py" create "$MNT/bigdir" "$BIGDIR_N" 2>&1) || { bigdir_fail "$sys" create "$out"; return 0; }
  record "$sys" bigdir "create $BIGDIR_N" ops/s higher "$rep" "$(awk -v n="$BIGDIR_N" -v t="$out" 'BEGIN { printf "%.3f", n / t }')"
  bigdir_remount "$sys" "with $BIGDIR_N entries"
  settle "$sys" "bigdir lookup"
  out=$(python3 "$LIB/bigdir.py" lookup "$MNT/bigdir" "$BIGDIR_N" "$BIGDIR_LOOKUPS" "$BIGDIR_MISSING" 1 2>&1) || { bigdir_fail "$sys" lookup "$out"; return 0; }
  read -r t tm <<<"$out"
  record "$sys" bigdir "stat ${BIGDIR_LOOKUPS} random, cold" ops/s higher "$rep" "$(awk -v n="$BIGDIR_LOOKUPS" -v t="$t" 'BEGIN { printf "%.3f", n / t }')"
  record "$sys" bigdir "stat ${BIGDIR_MISSING} missing names" ops/s higher "$rep" "$(awk -v n="$BIGDIR_MISSING" -v t="$tm" 'BEGIN { printf "%.3f", n / t }')"
  cold "$sys"
  settle "$sys" "bigdir list"
  out=$(python3 "$LIB/bigdir.py" list "$MNT/bigdir" 2>&1) || { bigdir_fail "$sys" listing "$out"; return 0; }
  read -r t n <<<"$out"
  [ "$n" = "$BIGDIR_N" ] || die "bigdir on $sys: the listing has $n entries, $BIGDIR_N were created"
  record "$sys" bigdir "list $BIGDIR_N, cold" entries/s higher "$rep" "$(awk -v n="$BIGDIR_N" -v t="$t" 'BEGIN { printf "%.3f", n / t }')"
  settle "$sys" "bigdir delete"
  out=$(python3 "$LIB/bigdir.py" delete "$MNT/bigdir" "$BIGDIR_N" 2>&1) || { bigdir_fail "$sys" delete "$out"; return 0; }
  record "$sys" bigdir "delete $BIGDIR_N" ops/s higher "$rep" "$(awk -v n="$BIGDIR_N" -v t="$out" 'BEGIN { printf "%.3f", n / t }')"
  case "$sys" in bento-fs|bento-fs-uring|bento-prov) bigdir_remount "$sys" "after deleting them" ;; esac
}

# ---------------------------------------------------------------- main loop
IFS=, read -r -a SYS_LIST <<<"$SYSTEMS"
WL_LIST=()
[ -z "$WORKLOADS" ] || IFS=, read -r -a WL_LIST <<<"$WORKLOADS"
for sys in "${SYS_LIST[@]}"; do
  case "$sys" in ext4-ordered|ext4-journal|bindfs|memfs|memfs-wt|bento-fs|bento-prov|bento-fs-uring|memfs-uring|memfs-wt-uring) ;; *) die "unknown system $sys" ;; esac
done
# -uring systems need FUSE over io_uring in the kernel (and its switch on, as bentofs -o
# uring does): without it they are dropped, loudly.
URING_SW=/sys/module/fuse/parameters/enable_uring
case ",$SYSTEMS," in
  *-uring,*)
    if [ -e "$URING_SW" ] && { grep -q Y "$URING_SW" || echo Y >"$URING_SW"; } 2>/dev/null; then
      NOTES+=("-uring systems: the same host and module over FUSE-over-io_uring (bentofs -o uring: one queue per CPU, --threads workers in all, one ring entry each); their /dev/fuse twin is the system without the suffix")
    else
      say "WARNING: this kernel has no FUSE over io_uring ($URING_SW missing or cannot be set): dropping the -uring systems"
      NOTES+=("-uring systems dropped: no FUSE over io_uring in this kernel ($URING_SW)")
      keep=()
      for sys in "${SYS_LIST[@]}"; do case "$sys" in *-uring) ;; *) keep+=("$sys") ;; esac; done
      SYS_LIST=("${keep[@]+"${keep[@]}"}")
      SYSTEMS=$(IFS=,; printf '%s' "${SYS_LIST[*]+"${SYS_LIST[*]}"}")
    fi ;;
esac
for wl in "${WL_LIST[@]+"${WL_LIST[@]}"}"; do
  declare -F "wl_$wl" >/dev/null || die "unknown workload $wl"
  [ "$wl" != seqio ] || [ $HAVE_FIO -eq 1 ] || continue
done

# memfs forgets everything at unmount: only workloads that never remount to read back
memfs_runs() { case "$1" in untar|smallfiles|mix) return 0 ;; *) return 1 ;; esac; }
SYS_LOADS=()
case ",$WORKLOADS," in *,sqlite,*) make_sql ;; esac
for sys in "${SYS_LIST[@]}"; do
  [ ${#WL_LIST[@]} -gt 0 ] || break
  say "=== $sys: fresh file system ($IMG_SIZE image), load $(cut -d' ' -f1-3 /proc/loadavg)"
  SYS_LOADS+=("$sys: $(cut -d' ' -f1 /proc/loadavg)")
  setup_fs "$sys"
  for wl in "${WL_LIST[@]}"; do
    [ "$wl" != seqio ] || [ $HAVE_FIO -eq 1 ] || continue
    ! is_memfs "$sys" || memfs_runs "$wl" || continue
    nrep=$REPS
    [ "$wl" != bigdir ] || nrep=1  # bigdir: once per system (1M entries in --full), see wl_bigdir
    for rep in $(seq 1 "$nrep"); do
      settle "$sys" "$wl rep $rep"
      "wl_$wl" "$sys" "$rep"
    done
  done
  say "=== $sys: teardown"
  teardown_fs "$sys"
  if [ "$sys" = bento-prov ]; then
    say "$(collector_summary)"
  fi
done

# ---------------------------------------------------------------- live upgrade (workload "upgrade")
# The paper's experiment: bench_timeline mounts Bento-fs (plain module) on a fresh image of its
# own, runs a create/write/close/unlink loop (1 thread), then write 4 KiB + fsync (4 threads),
# and upgrades to Bento-prov halfway: ops per 5 ms (CSV + PNG), the host's pause, op latency
# around the upgrade. bench_upgrade: the pause over many upgrades of Bento-fs to itself under
# 3 writer threads. Both mount under their own /tmp/bento-bench-XXXXXX and clean up after
# themselves; their raw output lands in $RUN/upgrade/, the figures in upgrade.json.
if [ $DO_UPGRADE -eq 1 ]; then
  WL_DESC[upgrade]="live upgrade: bench_timeline ${TIMELINE_ARGS[*]} (ops per 5 ms across an upgrade Bento-fs -> Bento-prov; create/delete loop, 1 thread; write 4 KiB + fsync loop, 4 threads) and bench_upgrade ${UPGRADE_ARGS[*]} (upgrades of Bento-fs to itself under 3 writer threads)"
  mkdir -p "$RUN/upgrade"
  UPG_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
  say "live upgrade: bench_timeline ${TIMELINE_ARGS[*]} (Bento-fs -> Bento-prov, ops per 5 ms), load $(cut -d' ' -f1 /proc/loadavg)"
  TL_RC=0
  "$TIMELINE_BIN" "${TIMELINE_ARGS[@]}" --from "$MODDIR/bento_fs.so" --to "$MODDIR/bento_prov.so" \
    --out "$RUN/upgrade" >"$RUN/upgrade/bench_timeline.out" 2>>"$LOG" || TL_RC=$?
  grep -v '^{' "$RUN/upgrade/bench_timeline.out" | while IFS= read -r l; do say "  $l"; done || true
  [ $TL_RC -eq 0 ] || { say "WARNING: bench_timeline exit $TL_RC (failed ops or upgrade, see upgrade/bench_timeline.out)"; NOTES+=("bench_timeline exited with status $TL_RC (failed operations or a failed upgrade; see upgrade/bench_timeline.out)"); }
  [ ! -f "$RUN/upgrade/timeline.png" ] || cp "$RUN/upgrade/timeline.png" "$RUN/upgrade-timeline.png"
  say "live upgrade: bench_upgrade ${UPGRADE_ARGS[*]} (Bento-fs -> Bento-fs), load $(cut -d' ' -f1 /proc/loadavg)"
  UP_RC=0
  "$UPGRADE_BIN" "${UPGRADE_ARGS[@]}" --module "$MODDIR/bento_fs.so" --mkfs "$BIN/mkfs.bento" \
    --bentofs "$BIN/bentofs" --json "$RUN/upgrade/bench_upgrade.json" >"$RUN/upgrade/bench_upgrade.out" 2>>"$LOG" || UP_RC=$?
  grep -v '^{' "$RUN/upgrade/bench_upgrade.out" | while IFS= read -r l; do say "  $l"; done || true
  [ $UP_RC -eq 0 ] || { say "WARNING: bench_upgrade exit $UP_RC (see upgrade/bench_upgrade.out)"; NOTES+=("bench_upgrade exited with status $UP_RC (failed upgrades or syscalls; see upgrade/bench_upgrade.out)"); }
  # the same over io_uring when bento-fs-uring is among the systems (and the kernel has it)
  case ",$SYSTEMS," in
    *,bento-fs-uring,*)
      say "live upgrade: bench_upgrade ${UPGRADE_ARGS[*]} --options uring (Bento-fs -> Bento-fs over io_uring), load $(cut -d' ' -f1 /proc/loadavg)"
      UPU_RC=0
      "$UPGRADE_BIN" "${UPGRADE_ARGS[@]}" --module "$MODDIR/bento_fs.so" --mkfs "$BIN/mkfs.bento" \
        --bentofs "$BIN/bentofs" --options uring --json "$RUN/upgrade/bench_upgrade_uring.json" \
        >"$RUN/upgrade/bench_upgrade_uring.out" 2>>"$LOG" || UPU_RC=$?
      grep -v '^{' "$RUN/upgrade/bench_upgrade_uring.out" | while IFS= read -r l; do say "  $l"; done || true
      [ $UPU_RC -eq 0 ] || { say "WARNING: bench_upgrade over io_uring exit $UPU_RC"; NOTES+=("bench_upgrade over io_uring exited with status $UPU_RC (see upgrade/bench_upgrade_uring.out)"); } ;;
  esac
  # upgrade.json: both programs' figures + per timeline workload the ops/5 ms dip (intervals
  # relative to the upgrade's start; the first and last, partial, intervals left out)
  python3 - "$RUN" "$UPG_LOAD" "$(cut -d' ' -f1-3 /proc/loadavg)" "${TIMELINE_ARGS[*]}" "${UPGRADE_ARGS[*]}" "$TL_RC" "$UP_RC" <<'PY'
import json, os, statistics, sys
run, load0, load1, targs, uargs, tl_rc, up_rc = sys.argv[1:8]
d = os.path.join(run, "upgrade")
def load(p):
    try:
        return json.load(open(p))
    except (OSError, ValueError):
        return None
out = {"load_start": load0, "load_end": load1, "timeline_args": targs, "upgrade_args": uargs,
       "timeline_rc": int(tl_rc), "upgrade_rc": int(up_rc), "timeline": None, "upgrades": None,
       "plot": "upgrade-timeline.png" if os.path.exists(os.path.join(run, "upgrade-timeline.png")) else None}
tl = load(os.path.join(d, "timeline.json"))
if tl:
    runs = []
    for r in tl.get("runs", []):
        bins = []
        try:
            for line in open(os.path.join(d, r["workload"] + ".csv")):
                if line.strip() and not line.startswith("#"):
                    ms, n = line.split()
                    bins.append((int(ms), int(n)))
        except (OSError, KeyError, ValueError):
            pass
        bins = bins[1:-1]
        rt = r.get("round_trip_ms", 0.0)
        pre = [n for ms, n in bins if ms < 0]
        post = [n for ms, n in bins if ms > rt + 50]
        near = [(ms, n) for ms, n in bins if -50 <= ms <= rt + 50]
        if bins:
            lo = min(near, key=lambda t: t[1]) if near else (None, None)
            med = statistics.median(pre) if pre else 0
            r["ops_per_5ms"] = {
                "median_before": med, "median_after": statistics.median(post) if post else 0,
                "lowest_near_upgrade": lo[1], "lowest_at_ms": lo[0],
                "zero_intervals_near_upgrade": sum(1 for _, n in near if n == 0),
                "zero_intervals_elsewhere": sum(1 for ms, n in bins if n == 0 and not -50 <= ms <= rt + 50),
                "intervals_below_half_near_upgrade": sum(1 for _, n in near if n < med / 2),
                "intervals": len(bins)}
        runs.append(r)
    out["timeline"] = {"seconds": tl.get("seconds"), "runs": runs}
out["upgrades"] = load(os.path.join(d, "bench_upgrade.json"))
out["upgrades_uring"] = load(os.path.join(d, "bench_upgrade_uring.json"))
json.dump(out, open(os.path.join(run, "upgrade.json"), "w"), indent=1)
PY
fi

# ---------------------------------------------------------------- collector ingest + prov why
if [ $DO_INGEST -eq 1 ]; then
  say "bench_ingest ${INGEST_ARGS[*]}: collector ingest rate into SQLite, bytes/event, prov why latency (load $(cut -d' ' -f1 /proc/loadavg))"
  INGEST_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
  if "$INGEST_BIN" "${INGEST_ARGS[@]}" >"$WORK/ingest.out" 2>>"$LOG"; then
    cat "$WORK/ingest.out" >>"$LOG"
    say "$(head -1 "$WORK/ingest.out")"
    tail -1 "$WORK/ingest.out" | python3 -c 'import json, sys; j = json.load(sys.stdin); j["args"] = sys.argv[1]; j["load_start"] = sys.argv[2]; j["load_end"] = sys.argv[3]; json.dump(j, open(sys.argv[4], "w"), indent=1)' \
      "${INGEST_ARGS[*]}" "$INGEST_LOAD" "$(cut -d' ' -f1-3 /proc/loadavg)" "$RUN/ingest.json"
  else
    say "WARNING: bench_ingest failed (see run.log)"
    NOTES+=("bench_ingest failed: no collector ingest / prov why figures in this run (see run.log)")
  fi
fi

# ---------------------------------------------------------------- prov why/impact on a busy host
# bench_lineage: the database of a realistic busy host (5M events, --quick 500k) and the
# latency of `prov why` / `prov impact` on it (skipped with --no-ingest).
if [ $DO_INGEST -eq 1 ] && [ -x "$BIN/bench_lineage" ]; then
  say "bench_lineage ${LINEAGE_ARGS[*]+${LINEAGE_ARGS[*]}}: prov why/impact latency on a busy host's database (load $(cut -d' ' -f1 /proc/loadavg))"
  LINEAGE_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
  if "$BIN/bench_lineage" ${LINEAGE_ARGS[@]+"${LINEAGE_ARGS[@]}"} >"$WORK/lineage.out" 2>>"$LOG"; then
    cat "$WORK/lineage.out" >>"$LOG"
    head -3 "$WORK/lineage.out" | while read -r l; do say "$l"; done
    tail -1 "$WORK/lineage.out" | python3 -c 'import json, sys; j = json.load(sys.stdin); j["args"] = sys.argv[1]; j["load_start"] = sys.argv[2]; j["load_end"] = sys.argv[3]; json.dump(j, open(sys.argv[4], "w"), indent=1)' \
      "${LINEAGE_ARGS[*]+${LINEAGE_ARGS[*]}}" "$LINEAGE_LOAD" "$(cut -d' ' -f1-3 /proc/loadavg)" "$RUN/lineage.json"
  else
    say "WARNING: bench_lineage failed (see run.log)"
    NOTES+=("bench_lineage failed: no prov why/impact latency on a busy host in this run (see run.log)")
  fi
fi

# ---------------------------------------------------------------- meta + report
NOTES+=("cold = unmount + sync + drop_caches + mount (empties bentofs's own buffer cache too); warm/cached = immediately repeated")
NOTES+=("bindfs runs with its defaults (single-threaded libfuse loop) over an ext4 data=ordered loop mount; bento-fs runs under bentofs defaults (--cache-mb 64, --threads 10) on an image file in /tmp; bento-prov is the same with the tracking module (provenance log on) under the real collector: \`provd --db (scratch)/prov.db --mount MNT\`$([ $PROVD_PROBES -eq 1 ] && echo ' with the eBPF probes' || echo ' --no-probes'), restarted around every remount (SIGTERM: it drains and exits; the database and its cursor carry over); before a timed unmount it is stopped untimed")
[ -z "$PROBES_FALLBACK" ] || NOTES+=("**provd ran with --no-probes**: the eBPF probes could not be loaded (BTF/BPF unavailable?): $PROBES_FALLBACK. The collector figures cover the file-system records only")
case ",$SYSTEMS," in *,memfs,*|*,memfs-wt,*|*,memfs-uring,*|*,memfs-wt-uring,*) NOTES+=("memfs and memfs-wt are FUSE's floor: bentofs with the same defaults and the in-memory example file system (kernel/examples/memfs: no block device I/O, no flush requests), memfs with the kernel's writeback cache, memfs-wt without it (-o writethrough: every write reaches the fs, as with bento-fs); they lose everything at unmount, so they run only $(for w in "${WL_LIST[@]+"${WL_LIST[@]}"}"; do memfs_runs "$w" && printf '%s ' "$w"; done)(smallfiles without the cold delete)") ;; esac
case ",$SYSTEMS," in *,bento-prov,*) [ $PROVD_PROBES -eq 1 ] && NOTES+=("the eBPF probes see every process on the host (other engineers' builds and tests too): the collector's probe events are not only the workload's") ;; esac
NOTES+=("loop devices and the bento image are files on the host's /tmp (same disk); writes reach the host page cache, not necessarily the disk")
[ ${#SYS_LOADS[@]} -eq 0 ] || NOTES+=("systems run one after another in the order listed; 1-min load average when each started: ${SYS_LOADS[*]} (a later system under more load is penalised)")
[ ${#BIGDIR_FSCK[@]} -eq 0 ] || NOTES+=("bigdir: \`fsck.bento -n\` of the image (unmounted) — $(printf '%s; ' "${BIGDIR_FSCK[@]}" | sed 's/; $//')")
export M_BIGDIR="$BIGDIR_N entries in one directory, once per system; $BIGDIR_LOOKUPS random + $BIGDIR_MISSING missing lookups"
[ -n "${BIGDIR_RAN:-}" ] || M_BIGDIR="not run"
export M_MODE=$MODE M_REPS=$REPS M_SYSTEMS=$SYSTEMS M_TREE="$TREE_FILES files requested; $TREE_INFO"
export M_IO="${IO_MB} MiB" M_SMALL="$SMALL_N x $SMALL_SIZE B" M_BUILD=$BUILD_STATUS
export M_LOAD_START=$LOAD_START M_LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
export M_DUR=$(elapsed "$T_START" "$EPOCHREALTIME")
export M_GIT="$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null) ($(cd "$REPO" && git status --porcelain 2>/dev/null | wc -l) files modified/untracked in the working tree)"
export M_VERSIONS="$(uname -r); $(bindfs --version 2>&1 | head -1); $(fio --version 2>/dev/null); $(tar --version | head -1)"
M_NOTES=$(printf '%s\n' "${NOTES[@]}")
export M_NOTES
M_WL=$(for k in "${!WL_DESC[@]}"; do printf '%s\t%s\n' "$k" "${WL_DESC[$k]}"; done)
export M_WL
python3 - "$RUN/meta.json" <<'EOF'
import json, os, platform, sys, time
e = os.environ
cpu = ""
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip(); break
mem = ""
for line in open("/proc/meminfo"):
    if line.startswith("MemTotal"):
        mem = f"{int(line.split()[1]) // 1024} MiB"; break
meta = {
    "mode": e["M_MODE"], "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    "kernel": platform.release(), "nproc": os.cpu_count(), "cpu": cpu, "mem": mem,
    "loadavg_start": e["M_LOAD_START"], "loadavg_end": e["M_LOAD_END"],
    "git": e["M_GIT"], "build": e["M_BUILD"], "reps": int(e["M_REPS"]),
    "systems": e["M_SYSTEMS"].split(","), "tree": e["M_TREE"], "io_file": e["M_IO"],
    "smallfiles": e["M_SMALL"], "bigdir": e["M_BIGDIR"], "versions": e["M_VERSIONS"],
    "duration_s": round(float(e["M_DUR"]), 1),
    "notes": [n for n in e["M_NOTES"].split("\n") if n],
    "workloads": dict(l.split("\t", 1) for l in e["M_WL"].split("\n") if l),
}
json.dump(meta, open(sys.argv[1], "w"), indent=1)
EOF
say "writing the report"
python3 "$LIB/report.py" "$RUN" >/dev/null
ln -sfn "$STAMP" "$OUT/latest"
if [ $DO_PROFILE -eq 1 ]; then
  # the workload behind bento-fs's biggest gap to ext4-ordered in this run, as profile.sh names it
  IFS=$'\t' read -r PROF_WL GAP_METRIC < <(python3 "$LIB/report.py" "$RUN" --profile-workload) || true
  if [ -z "${PROF_WL:-}" ]; then
    say "WARNING: no bento-fs gap to profile (needs ext4-ordered and bento-fs in --systems)"
  elif ! command -v perf >/dev/null; then
    say "WARNING: perf is not installed: the cause of the biggest gap is not profiled"
  else
    say "profiling $PROF_WL on bento-fs (bench/profile.sh; the biggest gap: $GAP_METRIC), load $(cut -d' ' -f1 /proc/loadavg)"
    if BENTO_BUILD_DIR=$BUILD bash "$REPO/bench/profile.sh" --no-build --files "$TREE_FILES" --workload "$PROF_WL" --out "$RUN/profile" >>"$LOG" 2>&1; then
      python3 "$LIB/report.py" "$RUN" >/dev/null
    else
      say "WARNING: profiling failed (see run.log)"
    fi
  fi
fi
if [ $DO_README -eq 1 ]; then
  python3 "$LIB/report.py" "$RUN" --update-readme "$REPO/README.md" >/dev/null && say "README.md: benchmark summary rewritten from this run" ||
    { say "WARNING: could not rewrite README.md's benchmark summary (see above)"; exit 1; }
fi
say "done in $(printf '%.0f' "$(elapsed "$T_START" "$EPOCHREALTIME")") s: $RUN/report.md (summary block: $RUN/summary.md)"
