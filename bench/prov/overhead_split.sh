#!/usr/bin/env bash
# Where does tracking's cost go? Splits Bento-prov + provd's overhead over Bento-fs into
# its parts by running one bench_mix personality under five configurations, interleaved
# (the order rotates every round, fresh image per run), on the same host and build:
#
#   fs            Bento-fs
#   fs+probes     Bento-fs, provd running with the eBPF probes but tracking another (idle)
#                 Bento-prov mount: the probes' cost on every process, nothing logged
#   prov          Bento-prov with nobody reading its log: the fs's own recording
#   prov+provd-np Bento-prov + provd --no-probes: + the collector ingesting the fs log
#   prov+provd    Bento-prov + provd with the probes: what bench/run.sh measures
#
#   bench/prov/overhead_split.sh [--rounds N] [--seconds S] [--personalities a,b] [--threads T]
#
# Per configuration: median ops/s, its ratio to fs (paired per round), and per operation
# the CPU of bentofs, of provd (until it has drained the log) and of the workload
# (/usr/bin/time), and bentofs's context switches. Needs root, /dev/fuse, BTF for the probes.
# A 2-core host under other load moves single runs by ±15%: read medians over >= 5 rounds.
set -euo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BENTO_BUILD_DIR:-$REPO/build/default}
BIN=$BUILD/bin
MOD=$BUILD/modules
ROUNDS=5
SECS=3
THREADS=4
PERS=createdel,webserver,varmail
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift ;;
    --seconds) SECS=$2; shift ;;
    --threads) THREADS=$2; shift ;;
    --personalities) PERS=$2; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "overhead_split.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" -eq 0 ] || { echo "overhead_split.sh: needs root" >&2; exit 1; }
for f in "$BIN/bentofs" "$BIN/mkfs.bento" "$BIN/provd" "$BIN/bench_mix" "$BIN/bentoctl" \
  "$MOD/bento_fs.so" "$MOD/bento_prov.so"; do
  [ -e "$f" ] || { echo "overhead_split.sh: missing $f (build first)" >&2; exit 1; }
done

WORK=$(mktemp -d /dev/shm/bento-split.XXXXXX)
RESULTS=$WORK/results.tsv
MOUNTS=()
PROVD=""
cleanup() {
  [ -z "$PROVD" ] || kill "$PROVD" 2>/dev/null || true
  for m in "${MOUNTS[@]}"; do
    mountpoint -q "$m" 2>/dev/null && { "$BIN/bentoctl" unmount "$m" --timeout 60 >/dev/null 2>&1 || fusermount3 -uz "$m"; }
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user+sys ticks
csw_of() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s + 0}'; }
log_lag() {
  python3 -c 'import os, sys
d = dict(l.split("=", 1) for l in os.getxattr(sys.argv[1] + "/.bento-provlog", "trusted.bento.prov.info").decode().split())
print(int(d["tail"]) - int(d["head"]))' "$1"
}
mount_fs() {  # mount_fs MODULE IMAGE MNT SIZE: a fresh image; prints the host's pid
  truncate -s "$4" "$2"
  "$BIN/mkfs.bento" -N 131072 "$2" >/dev/null 2>&1
  mkdir -p "$3"
  "$BIN/bentofs" "$2" "$3" --module "$MOD/$1" >/dev/null 2>&1
  MOUNTS+=("$3")
  pgrep -f "bentofs $2 $3" | head -1
}
unmount() { "$BIN/bentoctl" unmount "$1" --timeout 60 >/dev/null 2>&1 || fusermount3 -uz "$1"; }

# run_one CONFIG PERSONALITY ROUND: one measured run, one line into $RESULTS.
run_one() {
  local cfg=$1 p=$2 round=$3 dir=$WORK/run mnt logmnt fspid module args=() out
  rm -rf "$dir"; mkdir -p "$dir"
  mnt=$dir/mnt; logmnt=$mnt
  case $cfg in fs|fs+probes) module=bento_fs.so ;; *) module=bento_prov.so ;; esac
  fspid=$(mount_fs "$module" "$dir/img" "$mnt" 2G)
  if [ "$cfg" = fs+probes ]; then
    logmnt=$dir/idle
    mount_fs bento_prov.so "$dir/idle.img" "$logmnt" 256M >/dev/null
  fi
  PROVD=""
  case $cfg in
    fs+probes|prov+provd|prov+provd-np)
      [ "$cfg" = prov+provd-np ] && args=(--no-probes)
      "$BIN/provd" "${args[@]}" --db "$dir/prov.db" --mount "$logmnt" >"$dir/provd.log" 2>&1 &
      PROVD=$!
      for _ in $(seq 200); do grep -q '^provd: collecting' "$dir/provd.log" && break; sleep 0.1; done
      grep -q '^provd: collecting' "$dir/provd.log" || { echo "provd did not start:" >&2; cat "$dir/provd.log" >&2; exit 1; }
      ;;
  esac
  local f0 c0 p0=0 f1 c1 p1=0
  f0=$(cpu_of "$fspid"); c0=$(csw_of "$fspid")
  [ -z "$PROVD" ] || p0=$(cpu_of "$PROVD")
  out=$({ /usr/bin/time -f "WORKLOAD_CPU %U %S" "$BIN/bench_mix" --dir "$mnt" --personality "$p" \
    --threads "$THREADS" --seconds "$SECS" --files 300; } 2>&1)
  f1=$(cpu_of "$fspid"); c1=$(csw_of "$fspid")
  if [ -n "$PROVD" ]; then
    for _ in $(seq 600); do [ "$(log_lag "$logmnt")" -le 4096 ] && break; sleep 0.2; done
    p1=$(cpu_of "$PROVD")
    kill "$PROVD"; wait "$PROVD" || true
    PROVD=""
  fi
  local ops wl
  ops=$(grep -o '"ops":[0-9]*' <<<"$out" | cut -d: -f2)
  wl=$(awk '/WORKLOAD_CPU/ {print $2 + $3}' <<<"$out")
  [ -n "$ops" ] || { echo "bench_mix failed: $out" >&2; exit 1; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$round" "$cfg" "$ops" \
    "$(( f1 - f0 ))" "$(( p1 - p0 ))" "$wl" "$(( c1 - c0 ))" >>"$RESULTS"
  [ "$cfg" != fs+probes ] || unmount "$logmnt"
  unmount "$mnt"
  MOUNTS=()
}

CONFIGS=(fs fs+probes prov prov+provd-np prov+provd)
echo "overhead_split: $ROUNDS rounds x ${#CONFIGS[@]} configurations x {$PERS}, bench_mix --threads $THREADS --seconds $SECS; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
IFS=, read -r -a PLIST <<<"$PERS"
for ((r = 0; r < ROUNDS; r++)); do
  for p in "${PLIST[@]}"; do
    for ((i = 0; i < ${#CONFIGS[@]}; i++)); do
      run_one "${CONFIGS[$(( (i + r) % ${#CONFIGS[@]} ))]}" "$p" "$r"
    done
  done
  echo "overhead_split: round $((r + 1))/$ROUNDS done (load $(cut -d' ' -f1 /proc/loadavg))" >&2
done

python3 - "$RESULTS" "$(getconf CLK_TCK)" "$SECS" <<'PY'
import sys, statistics as st
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
hz, secs = float(sys.argv[2]), float(sys.argv[3])
configs = ["fs", "fs+probes", "prov", "prov+provd-np", "prov+provd"]
by = {}
for p, r, c, ops, fs_t, pd_t, wl, csw in rows:
    by.setdefault(p, {}).setdefault(r, {})[c] = dict(
        ops=int(ops), fs=int(fs_t) / hz, provd=int(pd_t) / hz, wl=float(wl), csw=int(csw))
print("| workload | configuration | ops/s, median | fs ops/s ÷ this (paired), median [range] "
      "| µs CPU per op: bentofs / provd / workload | bentofs context switches per op |")
print("|---|---|---|---|---|---|")
for p, rounds in by.items():
    for c in configs:
        runs = [rd[c] for rd in rounds.values() if c in rd]
        ratios = [rd["fs"]["ops"] / rd[c]["ops"] for rd in rounds.values() if c in rd and "fs" in rd]
        if not runs:
            continue
        med = lambda k: st.median(x[k] * 1e6 / x["ops"] for x in runs)
        ratio = "" if c == "fs" else "%.2fx [%.2f-%.2f]" % (st.median(ratios), min(ratios), max(ratios))
        print("| %s | %s | %.0f | %s | %.1f / %.1f / %.1f | %.2f |" % (
            p, c, st.median(x["ops"] for x in runs) / secs, ratio, med("fs"), med("provd"),
            med("wl"), st.median(x["csw"] / x["ops"] for x in runs)))
PY
