#!/usr/bin/env bash
# Where does the time go in Bento-fs's biggest gap to ext4? A CPU profile, not a guess.
#
#   bench/profile.sh [--workload W] [--files N] [--out DIR] [--no-build] [--requests-only]
#
#   W: untar (default) | rmrf | tarcold | grepcold | grepwarm | smallfiles | smalldelete |
#      gitclone | mix-varmail | mix-fileserver | mix-webserver | mix-createdel |
#      fio-RW-BS (RW: write read randread randwrite readwarm, BS: 4k 32k 128k 1m; read and
#      randread are cold, readwarm reads a file just read)
#
# Mounts a fresh Bento-fs image with bentofs, runs the workload once to warm up, then again
# under `perf record -a -g` (system-wide: the application, the kernel's FUSE path and the
# bentofs threads all show), and writes DIR/profile.md: time split by process (comm), the
# top kernel and userspace symbols, and the top symbols inside bentofs; and DIR/profile.json
# (the same figures, machine-readable: bench/lib/report.py names the cause of the gap from
# it). "cold" workloads unmount, drop the caches and mount again before the profiled run.
# --requests-only: only the FUSE request census (no CPU profile): requests per file by
# opcode in seconds, to see what a change to the host's replies saves.
# Needs root + perf.
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
REQ_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --workload) WL=$2; shift ;;
    --files) FILES=$2; shift ;;
    --out) OUT=$2; shift ;;
    --no-build) DO_BUILD=0 ;;
    --requests-only) REQ_ONLY=1 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
  echo "profile.sh: building bentofs bentoctl mkfs.bento bento_fs bench_mix"
  (cd "$REPO" && cmake --preset default >/dev/null && cmake --build --preset default -j2 --target bentofs bentoctl mkfs.bento bento_fs bench_mix >/dev/null)
fi

WORK=$(mktemp -d /dev/shm/bento-profile.XXXXXX)
MNT=$WORK/mnt
cleanup() {
  if mountpoint -q "$MNT" 2>/dev/null; then "$BIN/bentoctl" unmount "$MNT" --timeout 120 >/dev/null 2>&1 || fusermount3 -uz "$MNT" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$MNT"
echo "profile.sh: $WL on a fresh Bento-fs image ($FILES-file tree), work dir $WORK"
python3 "$REPO/bench/lib/gen_tree.py" "$WORK/tree" "$WORK/tree.tar" --files "$FILES" >/dev/null
rm -rf "$WORK/tree"
truncate -s 2G "$WORK/img"
"$BIN/mkfs.bento" -N 131072 "$WORK/img" >/dev/null
mount_fs() { "$BIN/bentofs" "$WORK/img" "$MNT" --module "$MODDIR/bento_fs.so" >/dev/null; }
mount_fs
remount_cold() { sync; "$BIN/bentoctl" unmount "$MNT" --timeout 300 >/dev/null; sync; echo 3 >/proc/sys/vm/drop_caches; mount_fs; }
have_tree() { [ -d "$MNT/t/src" ] || { mkdir -p "$MNT/t" && tar -xf "$WORK/tree.tar" -C "$MNT/t"; }; }

# prep: untimed set-up before each run; COLD=1: remount + drop caches between prep and run;
# UNITS: how many files one run touches (FUSE requests per file), or 0
COLD=0
UNITS=0
FIO_MB=256
fio_cmd() {  # fio_cmd RW BS
  echo "fio --name=p --filename=$MNT/io.dat --rw=$1 --bs=$2 --size=${FIO_MB}M --ioengine=psync --direct=0 --fallocate=none --invalidate=0 --end_fsync=$([ "${1#rand}" = write ] && echo 1 || echo 0) --runtime=10 --output=/dev/null"
}
case "$WL" in
  untar) UNITS=$FILES; prep() { rm -rf "$MNT/t"; mkdir "$MNT/t"; }; RUN="tar -xf '$WORK/tree.tar' -C '$MNT/t'" ;;
  rmrf) UNITS=$FILES; prep() { have_tree; }; RUN="rm -rf '$MNT/t'" ;;
  tarcold) UNITS=$FILES; COLD=1; prep() { have_tree; }; RUN="tar -cf - -C '$MNT/t' src | cat >/dev/null" ;;
  grepcold) UNITS=$FILES; COLD=1; prep() { have_tree; }; RUN="grep -r BENTO_BENCH_NEEDLE '$MNT/t/src' >/dev/null || true" ;;
  grepwarm) UNITS=$FILES; prep() { have_tree; }; RUN="grep -r BENTO_BENCH_NEEDLE '$MNT/t/src' >/dev/null || true" ;;
  gitclone) UNITS=$FILES  # a one-commit repository of the tree, cloned into the fs
    (mkdir "$WORK/repo" && tar -xf "$WORK/tree.tar" -C "$WORK/repo" && cd "$WORK/repo" && git init -q &&
      git add -A && git -c user.name=bench -c user.email=bench@localhost commit -qm tree && git gc -q)
    prep() { rm -rf "$MNT/clone"; }; RUN="git clone -q --no-hardlinks 'file://$WORK/repo' '$MNT/clone'" ;;
  smallfiles) UNITS=10000; prep() { rm -rf "$MNT/s"; }; RUN="python3 '$REPO/bench/lib/smallfiles.py' create '$MNT/s' 10000 4096 >/dev/null" ;;
  smalldelete) UNITS=10000; COLD=1; prep() { rm -rf "$MNT/s"; python3 "$REPO/bench/lib/smallfiles.py" create "$MNT/s" 10000 4096 >/dev/null; }
    RUN="python3 '$REPO/bench/lib/smallfiles.py' delete '$MNT/s' 10000 >/dev/null" ;;
  mix-varmail|mix-fileserver|mix-webserver|mix-createdel)
    [ -x "$BIN/bench_mix" ] || { echo "profile.sh: $BIN/bench_mix is not built" >&2; exit 1; }
    prep() { rm -rf "$MNT/mix-${WL#mix-}"; }
    RUN="'$BIN/bench_mix' --dir '$MNT' --personality ${WL#mix-} --threads 4 --seconds 4 --files 300 >/dev/null" ;;
  fio-*-*)
    command -v fio >/dev/null || { echo "profile.sh: needs fio" >&2; exit 1; }
    IFS=- read -r _ RW BS <<<"$WL"
    case "$RW" in
      write) prep() { rm -f "$MNT/io.dat"; sync; } ;;
      readwarm) RW="read"; prep() { [ -f "$MNT/io.dat" ] || fio --name=p --filename="$MNT/io.dat" --rw=write --bs=1m --size=${FIO_MB}M --output=/dev/null; cat "$MNT/io.dat" >/dev/null; } ;;
      read|randread) COLD=1; prep() { [ -f "$MNT/io.dat" ] || fio --name=p --filename="$MNT/io.dat" --rw=write --bs=1m --size=${FIO_MB}M --output=/dev/null; } ;;
      randwrite) prep() { [ -f "$MNT/io.dat" ] || fio --name=p --filename="$MNT/io.dat" --rw=write --bs=1m --size=${FIO_MB}M --output=/dev/null; } ;;
      *) echo "profile.sh: unknown fio mode $RW" >&2; exit 2 ;;
    esac
    RUN="$(fio_cmd "$RW" "$BS")" ;;
  *) echo "profile.sh: unknown workload $WL" >&2; exit 2 ;;
esac
run() { bash -c "$RUN"; }
echo "profile.sh: warm-up run"
prep; run
prep
[ $COLD -eq 0 ] || remount_cold
ops() { "$BIN/bentoctl" status "$MNT" --json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("ops", 0))'; }
ops0=$(ops)
a=$EPOCHREALTIME
if [ $REQ_ONLY -eq 0 ]; then
  echo "profile.sh: profiled run (perf record -a -g -F 999)"
  perf record -q -a -g -F 999 -o "$WORK/perf.data" -- bash -c "$RUN" 2>/dev/null
else
  echo "profile.sh: timed run (no profile: --requests-only)"
  run
fi
b=$EPOCHREALTIME
secs=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b - a }')
nops=$(( $(ops) - ops0 ))
LOAD=$(cut -d' ' -f1 /proc/loadavg)

# Request census: one more run with the fuse:fuse_request_send tracepoint (kernel >= 6.x),
# counted by opcode for this mount's connection only (other FUSE mounts on the host differ).
: >"$WORK/req.txt"
CONN=""
if perf list 'fuse:*' 2>/dev/null | grep -c 'fuse:fuse_request_send' >/dev/null; then  # grep -q + pipefail: SIGPIPE
  echo "profile.sh: request census run (perf record -e fuse:fuse_request_send)"
  prep
  [ $COLD -eq 0 ] || remount_cold
  IFS=: read -r maj min < <(mountpoint -d "$MNT")
  CONN=$(( (maj << 20) | min ))
  if perf record -q -a -e fuse:fuse_request_send -o "$WORK/req.data" -- bash -c "$RUN" 2>/dev/null; then
    perf script -i "$WORK/req.data" -F trace 2>/dev/null |
      awk -v c="$CONN" '$1 == "connection" && $2 == c { n[$7]++ } END { for (k in n) print n[k], k }' |
      tr -d '()' | sort -rn >"$WORK/req.txt" || true
  fi
fi

if [ $REQ_ONLY -eq 1 ]; then
  {
    echo "# FUSE requests: $WL on Bento-fs ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $LOAD)"
    echo
    echo "Wall time ${secs} s (no profiler). Requests the module served: $nops."
    echo "By opcode (tracepoint fuse:fuse_request_send, a separate run, this mount only):"
    echo '```'
    awk -v f="$UNITS" '{ t += $1; printf "%10d  %-20s %s\n", $1, $2, (f > 0 ? sprintf("%.2f per file", $1 / f) : "") }
      END { printf "%10d  %-20s %s\n", t, "total", (f > 0 ? sprintf("%.2f per file", t / f) : "") }' "$WORK/req.txt"
    echo '```'
  } >"$OUT/requests.md"
  cat "$OUT/requests.md"
  exit 0
fi
rep() { perf report -i "$WORK/perf.data" --stdio "$@" 2>/dev/null | grep -v '^#' | grep -v '^$' || true; }
case "$WL" in
  untar) APP="tar" ;; tarcold) APP="tar,cat" ;; rmrf) APP="rm" ;; grep*) APP="grep" ;; small*) APP="python3" ;; gitclone) APP="git" ;;
  mix-*) APP=bench_mix ;; fio-*) APP=fio ;;
esac
HOSTCOMMS=$(rep --no-children -g none --sort comm | awk '$2 ~ /^bentofs/ { print $2 }' | paste -sd, -)
COMMS=$APP${HOSTCOMMS:+,$HOSTCOMMS}
rep --no-children -g none --sort comm --percent-limit 1 | head -20 >"$WORK/comm.txt"
rep --no-children -g none --sort comm,dso -n >"$WORK/commdso.txt"
rep --no-children -g none --sort comm,dso,sym --percent-limit 0.7 | head -40 >"$WORK/sym.txt"
rep --no-children -g none --comms "$COMMS" --sort comm,dso,sym -n --percent-limit 0.1 | head -60 >"$WORK/wlsym.txt"
rep --no-children -g none --comms bentofs --sort dso,sym --percent-limit 0.5 | head -30 >"$WORK/host.txt"
# inclusive ("children") time of the FUSE request round trip, in the workload's processes
rep --children -g none --comms "$COMMS" --sort sym -n --percent-limit 0.05 | head -400 >"$WORK/children.txt"
{
  echo "# Profile: $WL on Bento-fs ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $LOAD)"
  echo
  echo "Wall time under perf: ${secs} s. \`perf record -a -g -F 999\` (system-wide: other processes on the host show too). Shares are of all samples."
  if [ "$UNITS" -gt 0 ]; then
    echo "File operations the fs served (FUSE requests reaching the module): $nops ($(awk -v n="$nops" -v f="$UNITS" 'BEGIN { printf "%.1f", n / f }') per file, $UNITS files)."
  else
    echo "File operations the fs served (FUSE requests reaching the module): $nops."
  fi
  echo "Idle (swapper) is time the CPUs waited: a latency-bound workload (round trips), not a CPU-bound one."
  echo "The workload's processes: $COMMS."
  if [ -s "$WORK/req.txt" ]; then
    echo
    echo "## FUSE requests by opcode (a separate run, tracepoint fuse:fuse_request_send, this mount only)"
    echo '```'
    awk -v f="$UNITS" '{ printf "%10d  %-20s %s\n", $1, $2, (f > 0 ? sprintf("%.2f per file", $1 / f) : "") }' "$WORK/req.txt"
    echo '```'
  fi
  echo
  echo "## By process (comm)"
  echo '```'
  cat "$WORK/comm.txt"
  echo '```'
  echo
  echo "## Top symbols (all processes, kernel and user)"
  echo '```'
  cat "$WORK/sym.txt"
  echo '```'
  echo
  echo "## Where the host's and the application's kernel time goes (callers, >= 3%)"
  echo '```'
  rep --no-children --comms "$COMMS" -g caller,0.5,callee,function,percent --percent-limit 3 | head -80
  echo '```'
  echo
  echo "## Inside the bentofs host (its threads only)"
  echo '```'
  cat "$WORK/host.txt"
  echo '```'
} >"$OUT/profile.md"

python3 - "$WORK" "$OUT/profile.json" "$WL" "$secs" "$nops" "$UNITS" "$LOAD" "$(nproc)" "$APP" <<'PY'
import json, re, sys
work, out, wl, secs, nops, units, load, nproc, app = sys.argv[1:10]
HZ = 999.0
app = set(app.split(","))
row_re = re.compile(r"^\s*([0-9.]+)%\s+(?:([0-9.]+)%\s+)?(\d+)\s+(.*)$")

def rows(name):  # (pct, samples, fields)
    res = []
    for line in open(f"{work}/{name}"):
        m = row_re.match(line)
        if m:
            res.append((float(m.group(1)), int(m.group(3)), m.group(4).split()))
    return res

is_host = lambda c: c.startswith("bentofs")
is_wl = lambda c: c in app or is_host(c)
total = 0
cpu = {"app_user": 0, "app_kernel": 0, "host_kernel": 0, "module": 0, "libfuse": 0, "host_user_other": 0}
idle = others = 0
for pct, n, f in rows("commdso.txt"):
    comm, dso = f[0], f[1] if len(f) > 1 else ""
    total += n
    kernel = dso == "[kernel.kallsyms]"
    if comm == "swapper":
        idle += n
    elif comm in app:
        cpu["app_kernel" if kernel else "app_user"] += n
    elif is_host(comm):
        if kernel:
            cpu["host_kernel"] += n
        elif dso.startswith(("bento_fs", "bento_prov")):
            cpu["module"] += n
        elif dso.startswith("libfuse"):
            cpu["libfuse"] += n
        else:
            cpu["host_user_other"] += n
    else:
        others += n
wl_samples = sum(cpu.values())
symbols = []
for pct, n, f in rows("wlsym.txt"):
    if len(f) >= 4 and is_wl(f[0]) and len(symbols) < 12:
        symbols.append({"comm": f[0], "dso": f[1], "kernel": f[2] == "[k]", "symbol": " ".join(f[3:]),
                        "share_of_workload_cpu": n / wl_samples if wl_samples else 0})
requests = {}
for line in open(f"{work}/req.txt"):
    f = line.split()
    if len(f) == 2:
        requests[f[1].replace("FUSE_", "")] = int(f[0])
children = {}
for pct, n, f in rows("children.txt"):  # pct: inclusive share of all samples (n: self)
    if len(f) >= 2:
        children[" ".join(f[1:])] = pct / 100 * total
fuse_keys = ["__fuse_simple_request", "fuse_simple_request", "request_wait_answer", "fuse_dev_do_read",
             "fuse_dev_do_write", "fuse_request_end", "fuse_dev_queue_req"]
j = {
    "workload": wl, "seconds": float(secs), "fuse_ops": int(nops), "files": int(units),
    "ops_per_file": int(nops) / int(units) if int(units) else None,
    "load": load, "nproc": int(nproc), "hz": HZ, "app_comms": sorted(app),
    "samples": total, "idle_share": idle / total if total else 0,
    "others_share": others / total if total else 0,
    "workload_cpu_s": wl_samples / HZ,
    "cpus_busy": wl_samples / HZ / float(secs) if float(secs) else 0,
    "workload_cpu_split": {k: (v / wl_samples if wl_samples else 0) for k, v in cpu.items()},
    "top_symbols": symbols,
    "requests_by_opcode": requests,
    "fuse_inclusive_share_of_workload_cpu": {k: children[k] / wl_samples for k in fuse_keys
                                             if k in children and wl_samples},
}
json.dump(j, open(out, "w"), indent=1)
PY
echo "profile.sh: $WL took ${secs} s under perf; report: $OUT/profile.md, $OUT/profile.json"
