#!/usr/bin/env bash
# The kernel host under QEMU: builds bento_fs.ko and bento_prov.ko against Debian's
# linux-headers, boots the matching Debian kernel (downloaded, not installed) with an
# initramfs of busybox + the modules + a static test program, on a scratch virtio disk made
# by this host's mkfs.bento, and checks what the guest reports, the console log and the
# image (host fsck.bento).
#
#   tests/kernel/run.sh [--build-dir DIR] [TEST...]
#     basic   POSIX checks (tests/kernel/guest_checks.cc posix), untar/re-tar of a
#             10,000-file tree, remount, Bento-prov mount, module load/unload with no
#             leak; host fsck clean
#     crash   a write+fsync workload, qemu killed at a random point, host fsck (replay),
#             second boot: replay, every fsynced file intact; host fsck clean
#             (BENTO_KERNEL_CRASH_POINTS kill points, default 1; bench/kernel uses more)
#     bench   ext4 (data=ordered, data=journal) vs Bento-fs in one boot: untar, rm -rf,
#             small creates, sequential 1 MiB writes, cached reads, a fileserver-like
#             mix; prints the ratios (bench/kernel/run.sh)
#     upgrade live upgrades under 4 writer threads: Bento-fs -> Bento-fs -> Bento-prov
#             (a refused transfer rolls back) -> Bento-fs; zero failed operations, every
#             byte kept (also after a remount); rmmod of the old module refused while a
#             mount uses it and done once the upgrade moved the mount; Bento-prov records
#             after the switch; host fsck clean
#     prov    provenance end to end: plain Bento-fs, an untracked pipeline, provd (the
#             CO-RE eBPF probes + the mount's hidden provenance log), `prov enable` under a
#             running writer (zero failed operations), a pipeline, cp, a shell redirect, a
#             rename, a write followed by a read; `prov why --json` of each output (the
#             guest writes them to a second disk, checked here with kernel_lineage_edges),
#             `prov disable`, unmount; host fsck clean
#     provbench  in one boot: the live-upgrade pause over BENTO_KERNEL_UPGRADES (default
#             100) upgrades Bento-fs -> Bento-fs under 4 writer threads (p50/p99/max of
#             the pause and of the wait for in-flight calls; zero failed operations), and
#             the tracking overhead: untar of a BENTO_KERNEL_TREE_FILES-file tree (default
#             10,000) + sync and 10,000 small creates on Bento-fs, Bento-prov (log only)
#             and Bento-prov under provd (probes + log), BENTO_KERNEL_BENCH_REPS rounds
#             (default 3) in turn (bench/kernel/run.sh); TCG: read ratios
#   default: basic crash
#
# Fails on any WARNING:, BUG:, Oops, hung task ("blocked for more than"), lockdep report
# or leak report in a console log. Exit 0 pass, 1 fail, 77 skipped (no qemu, no kernel
# package or headers reachable: said loudly). Root only. TCG unless BENTO_KERNEL_KVM=1.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build/default
tests=()
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build=$(cd "$2" && pwd); shift 2 ;;
    basic | crash | bench | upgrade | prov | provbench | features) tests+=("$1"); shift ;;
    *) echo "usage: $0 [--build-dir DIR] [basic|crash|bench|upgrade|prov|provbench|features]..." >&2; exit 2 ;;
  esac
done
[ ${#tests[@]} -gt 0 ] || tests=(basic crash)

skip() {
  echo "*** SKIPPING KERNEL HOST TESTS: $* ***" >&2
  exit 77
}
say() { echo "== kernel: $*"; }

[ "$(id -u)" -eq 0 ] || skip "they need root"
if ! command -v qemu-system-x86_64 > /dev/null || ! [ -x /bin/busybox ] || ! command -v cpio > /dev/null; then
  bash "$root/scripts/install-deps.sh" || true
fi
command -v qemu-system-x86_64 > /dev/null || skip "qemu-system-x86_64 missing (scripts/install-deps.sh)"
command -v cpio > /dev/null || skip "cpio missing"
busybox=/bin/busybox
{ [ -x "$busybox" ] && ! readelf -d "$busybox" 2> /dev/null | grep -q NEEDED; } ||
  skip "no static busybox (busybox-static)"

# The kernel: Debian's current one, the version linux-headers-amd64 points at.
kver=$(apt-cache depends linux-headers-amd64 2> /dev/null | awk '/Depends: linux-headers-[0-9]/ {sub("linux-headers-", "", $2); print $2; exit}')
[ -n "$kver" ] || skip "apt-cache knows no linux-headers-amd64 (apt-get update?)"
kdir=/lib/modules/$kver/build
if [ ! -f "$kdir/Makefile" ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "linux-headers-$kver" > /dev/null 2>&1 || true
fi
[ -f "$kdir/Makefile" ] || skip "linux-headers-$kver not installable"
cache=${BENTO_KERNEL_CACHE:-/var/cache/bento-kernel}
image_dir=$cache/linux-image-$kver
if [ ! -f "$image_dir/boot/vmlinuz-$kver" ]; then
  mkdir -p "$cache"
  rm -rf "$image_dir.tmp" && mkdir -p "$image_dir.tmp"
  if (cd "$image_dir.tmp" && apt-get download "linux-image-$kver" > /dev/null 2>&1); then
    dpkg-deb -x "$image_dir.tmp"/linux-image-"$kver"_*.deb "$image_dir.tmp/x"
    rm -rf "$image_dir" && mv "$image_dir.tmp/x" "$image_dir"
  fi
  rm -rf "$image_dir.tmp"
fi
vmlinuz=$image_dir/boot/vmlinuz-$kver
[ -f "$vmlinuz" ] || skip "linux-image-$kver could not be downloaded"
kmods=$image_dir/lib/modules/$kver/kernel

# Build: host tools, the guest program, both modules (the same fs sources as the .so).
say "kernel $kver; building"
cmake --build "$build" --target mkfs.bento fsck.bento bento_guest_checks > /dev/null
case " ${tests[*]} " in
  *" prov "* | *" provbench "*) cmake --build "$build" --target provd prov kernel_lineage_edges > /dev/null ;;
esac
mkfs=$build/bin/mkfs.bento
fsck=$build/bin/fsck.bento
guest_bin=$build/tests/kernel/guest_checks
modout=$build/kernel/module/$kver
for m in bento_fs:bento bento_prov:bento_prov; do
  name=${m%%:*} fstype=${m##*:}
  nice "$root/kernel/module/build.sh" "$kdir" "$modout/$name" "$name" "$fstype" \
    "$build/kernel/module/$name.sources" > "$modout.$name.log" 2>&1 ||
    { cat "$modout.$name.log" >&2; echo "module build failed: $name" >&2; exit 1; }
done

work=$build/kernel-test
rm -rf "$work"
mkdir -p "$work"
# TCG by default: on the development machine /dev/kvm exists but a KVM guest hangs (and
# -cpu host/max abort on MSR 0x10a), so KVM is opt-in (BENTO_KERNEL_KVM=1).
accel=(-accel tcg,thread=multi)
if [ "${BENTO_KERNEL_KVM:-0}" = 1 ]; then accel=(-enable-kvm); fi
say "qemu ${accel[*]}"

# The initramfs: busybox, the virtio modules (Debian builds them as modules; order
# matters), ext4 for bench, our modules, guest_checks, and an init running BODY.
make_initrd() {  # OUT BODY
  local out=$1 body=$2 r=$work/root
  rm -rf "$r"
  mkdir -p "$r"/{bin,sbin,proc,sys,dev,tmp,mnt,lib/modules}
  cp "$busybox" "$r/bin/busybox"
  for app in sh mount umount insmod rmmod lsmod mkdir cat echo grep tar diff dmesg sync \
    poweroff sleep ls rm cp md5sum find wc sed head tail chmod mkfs.ext4 time; do
    ln -sf busybox "$r/bin/$app"
  done
  cp "$guest_bin" "$r/bin/guest_checks"
  local k
  for k in drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko \
    drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci_modern_dev.ko \
    drivers/virtio/virtio_pci.ko drivers/block/virtio_blk.ko; do
    [ -f "$kmods/$k" ] && cp "$kmods/$k" "$r/lib/modules/"
  done
  for k in lib/crc16.ko fs/mbcache.ko fs/jbd2/jbd2.ko crypto/crc32c_generic.ko fs/ext4/ext4.ko; do
    [ "${with_ext4:-0}" = 1 ] && [ -f "$kmods/$k" ] && cp "$kmods/$k" "$r/lib/modules/"
  done
  cp "$modout"/bento_core/bento_core.ko "$modout"/bento_fs/bento_fs.ko \
    "$modout"/bento_prov/bento_prov.ko "$r/lib/modules/"
  # with_host_progs="PATH...": dynamic programs at the same path, with what ldd says they
  # need (provd, prov; the host's dash and coreutils, so that every pipeline stage is a
  # real exec the probes see, not a busybox applet run inside the shell).
  local p lib
  for p in ${with_host_progs:-}; do
    mkdir -p "$r/$(dirname "$p")"
    cp -L "$p" "$r/$p"
    for lib in $(ldd "$p" 2> /dev/null | awk '/=> \// {print $3} /^\t\/lib64/ {print $1}'); do
      [ -e "$r/$lib" ] && continue
      mkdir -p "$r/$(dirname "$lib")"
      cp -L "$lib" "$r/$lib"
    done
  done
  cat > "$r/init" << EOF
#!/bin/busybox sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs -o size=1200m tmp /tmp
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
  [ -f /lib/modules/\$m.ko ] && insmod /lib/modules/\$m.ko
done
n=0; while [ ! -b /dev/vda ] && [ \$n -lt 50 ]; do sleep 0.1; n=\$((n+1)); done
[ -b /dev/vda ] || { echo "BENTO-FAIL no /dev/vda (virtio_blk)"; poweroff -f; }
insmod /lib/modules/bento_core.ko || echo "BENTO-FAIL insmod bento_core"
fails=0
check() { if "\$@"; then echo "BENTO-OK \$*"; else echo "BENTO-FAIL \$*"; fails=\$((fails+1)); fi; }
# /tmp/src.tar: a deterministic tree of N files (guest_checks tree) in /tmp/src, tarred.
src_tar() { check guest_checks tree /tmp/src "\$1" && (cd /tmp && tar cf /tmp/src.tar src); }
$body
echo "BENTO-DONE fails=\$fails"
sync
poweroff -f
EOF
  chmod +x "$r/init"
  (cd "$r" && find . | cpio -o -H newc 2> /dev/null | gzip -1) > "$out"
}

# Boots INITRD with DISK (and EXTRA_DISKS: more virtio disks, vdb...); the console goes
# to LOG.
boot() {  # INITRD DISK LOG
  local drives=() d
  for d in "$2" ${EXTRA_DISKS:-}; do drives+=(-drive "file=$d,if=virtio,format=raw,cache=unsafe"); done
  timeout "${BENTO_KERNEL_BOOT_TIMEOUT:-900}" qemu-system-x86_64 "${accel[@]}" -m 2048 -smp 2 \
    -kernel "$vmlinuz" -initrd "$1" -nographic -no-reboot \
    -append "console=ttyS0 panic=-1 oops=panic" "${drives[@]}" > "$3" 2>&1 || true
  tr -d '\r' < "$3" > "$3.txt"
}

# boot, then: how long the guest ran, its report lines (BENTO-*, CHECK FAILED and those
# matching SHOW) and the console log's check.
guest_run() {  # WHAT INITRD DISK LOG [SHOW-ERE]
  local t0=$SECONDS
  boot "$2" "$3" "$4"
  say "$1: guest ran $((SECONDS - t0)) s"
  grep -E "^(BENTO-|CHECK FAILED${5:+|$5})" "$4.txt" || true
  check_log "$4.txt" "$1"
}

bad_patterns='WARNING:|BUG:|Oops|blocked for more than|possible circular locking|possible recursive locking|INFO: lockdep|inconsistent lock state|general protection fault|Kernel panic|bento: LEAK|kernel BUG|UBSAN|KASAN|unable to handle|missing return thunk|Unknown symbol'
failed=0
check_log() {  # LOG.txt WHAT [allow-incomplete]
  local log=$1 what=$2
  if grep -Eq "$bad_patterns" "$log"; then
    echo "FAIL $what: the kernel complained:" >&2
    grep -En -B2 -A20 "$bad_patterns" "$log" | head -80 >&2
    failed=1
  fi
  if [ "${3:-}" != allow-incomplete ]; then
    if ! grep -q '^BENTO-DONE fails=0' "$log"; then
      echo "FAIL $what: the guest did not finish cleanly:" >&2
      grep -E '^(BENTO-|CHECK FAILED|== )' "$log" | tail -40 >&2 || true
      grep -q '^BENTO-DONE' "$log" || tail -40 "$log" >&2
      failed=1
    fi
  fi
}

host_fsck() {  # IMAGE WHAT [FLAGS [MAX-OK-EXIT]]: e2fsck codes, 1 = replayed/repaired
  local out rc=0
  out=$("$fsck" ${3:-} "$1" 2>&1) || rc=$?
  if [ $rc -gt "${4:-0}" ]; then
    echo "FAIL $2: fsck.bento ${3:-} exited $rc:" >&2
    echo "$out" | tail -20 >&2
    failed=1
  else
    say "$2: fsck.bento ${3:-} clean ($(echo "$out" | tail -1 | sed 's/.*: //'))"
  fi
}

run_basic() {
  local disk=$work/basic.img
  "$mkfs" --size 512M "$disk" > /dev/null
  make_initrd "$work/basic.cpio.gz" '
insmod /lib/modules/bento_fs.ko || echo "BENTO-FAIL insmod"
check mount -t bento /dev/vda /mnt
mkdir -p /mnt/p
check guest_checks posix /mnt/p
src_tar 10000
mkdir /mnt/t
check tar xf /tmp/src.tar -C /mnt/t
check diff -r /tmp/src /mnt/t/src
cd /mnt/t && tar cf /tmp/re.tar src && cd /
mkdir /tmp/re
check tar xf /tmp/re.tar -C /tmp/re
check diff -r /tmp/src /tmp/re/src
rm /tmp/re.tar /tmp/src.tar
check umount /mnt
check mount -t bento /dev/vda /mnt
check diff -r /tmp/src /mnt/t/src
check umount /mnt
check rmmod bento_fs
dmesg | grep -q "bento: unloaded, no allocation left" && echo "BENTO-OK no leak" || { echo "BENTO-FAIL leak"; fails=$((fails+1)); }
insmod /lib/modules/bento_prov.ko || echo "BENTO-FAIL insmod prov"
check mount -t bento_prov /dev/vda /mnt
check diff -r /tmp/src/d0 /mnt/t/src/d0
check sh -c "cat /mnt/.bento-provlog > /dev/null"
check sh -c "echo prov > /mnt/prov-file"
sync
# Bento-prov through the kernel: the create is in the provenance log, committed with it.
check grep -q prov-file /mnt/.bento-provlog
check umount /mnt
check rmmod bento_prov
insmod /lib/modules/bento_fs.ko
mount -t bento /dev/vda /mnt -o nosuchoption && { echo "BENTO-FAIL bad option accepted"; fails=$((fails+1)); umount /mnt; }
check rmmod bento_fs
[ "$(dmesg | grep -c "bento: unloaded, no allocation left")" -ge 3 ] && echo "BENTO-OK no leak after load/unload cycles" || { echo "BENTO-FAIL leak after cycles"; fails=$((fails+1)); }
'
  guest_run basic "$work/basic.cpio.gz" "$disk" "$work/basic.log"
  host_fsck "$disk" basic -n
  # A foreign image is refused with a clear message.
  local foreign=$work/foreign.img
  truncate -s 64M "$foreign"
  make_initrd "$work/foreign.cpio.gz" '
insmod /lib/modules/bento_fs.ko
mount -t bento /dev/vda /mnt 2>/dev/null && { echo "BENTO-FAIL foreign image mounted"; fails=$((fails+1)); }
dmesg | grep -q "bento: vda: mount failed" && echo "BENTO-OK foreign image refused" || { echo "BENTO-FAIL no message for the foreign image"; fails=$((fails+1)); }
rmmod bento_fs
'
  guest_run foreign "$work/foreign.cpio.gz" "$foreign" "$work/foreign.log"
}

run_crash_once() {  # N
  local n=$1 disk=$work/crash$1.img log=$work/crash$1.log
  "$mkfs" --size 256M "$disk" > /dev/null
  make_initrd "$work/crash.cpio.gz" '
insmod /lib/modules/bento_fs.ko
check mount -t bento -o commit=200 /dev/vda /mnt
guest_checks crashwork /mnt
'
  # Kill point: after a random number of fsynced files (20..200), plus up to 300 ms.
  local want=$((20 + RANDOM % 181)) delay_ms=$((RANDOM % 300))
  qemu-system-x86_64 "${accel[@]}" -m 1024 -smp 2 \
    -kernel "$vmlinuz" -initrd "$work/crash.cpio.gz" -nographic -no-reboot \
    -append "console=ttyS0 panic=-1" \
    -drive "file=$disk,if=virtio,format=raw,cache=unsafe" > "$log" 2>&1 &
  local qpid=$! t0=$SECONDS
  while kill -0 $qpid 2> /dev/null; do
    local got
    got=$(grep -c '^FSYNCED' "$log" 2> /dev/null || true)
    [ "${got:-0}" -ge "$want" ] && break
    [ $((SECONDS - t0)) -lt 600 ] || break
    sleep 0.05
  done
  sleep "0.$(printf %03d $delay_ms)"
  kill -9 $qpid 2> /dev/null || true
  wait $qpid 2> /dev/null || true
  tr -d '\r' < "$log" > "$log.txt"
  check_log "$log.txt" "crash $n (workload)" allow-incomplete
  local last
  last=$(grep -a '^FSYNCED' "$log.txt" | tail -1 | awk '{print $2}')
  if [ -z "$last" ]; then
    echo "FAIL crash $n: the workload never fsynced a file" >&2
    tail -30 "$log.txt" >&2
    failed=1
    return
  fi
  say "crash $n: killed qemu after file $last was fsynced (wanted >= $want, +${delay_ms} ms)"
  # The host replays a copy; the guest replays the original on its next mount.
  cp --sparse=always "$disk" "$disk.host"
  host_fsck "$disk.host" "crash $n (host replay)" -y 1
  host_fsck "$disk.host" "crash $n (after host replay)" -n
  make_initrd "$work/verify.cpio.gz" "
insmod /lib/modules/bento_fs.ko
check mount -t bento /dev/vda /mnt
check guest_checks crashverify /mnt $last
echo more > /mnt/after-crash
check umount /mnt
check rmmod bento_fs
"
  guest_run "crash $n (verify)" "$work/verify.cpio.gz" "$disk" "$log.verify" '== crash'
  host_fsck "$disk" "crash $n (after guest replay)" -n
  rm -f "$disk.host"
}

# bench: ext4 (data=ordered, data=journal) and Bento-fs side by side in one boot, each on
# its own virtio disk; TCG timings, so read the ratios only.
run_bench() {
  local disk=$work/bench-bento.img
  "$mkfs" --size 2G "$disk" > /dev/null
  rm -f "$work"/bench-ext4-*.img
  for v in ordered journal; do
    truncate -s 2G "$work/bench-ext4-$v.img"
    mkfs.ext4 -q -F "$work/bench-ext4-$v.img"
  done
  local body='
for m in crc16 mbcache jbd2 crc32c_generic ext4 bento_fs; do insmod /lib/modules/$m.ko; done
src_tar 10000
rm -rf /tmp/src
for fs in bento ext4-ordered ext4-journal; do
  case $fs in
    bento) check mount -t bento /dev/vda /mnt ;;
    ext4-ordered) check mount -t ext4 -o data=ordered /dev/vdb /mnt ;;
    ext4-journal) check mount -t ext4 -o data=journal /dev/vdc /mnt ;;
  esac
  mkdir /mnt/u
  guest_checks time $fs/untar sh -c "tar xf /tmp/src.tar -C /mnt/u && sync"
  guest_checks time $fs/rm-rf sh -c "rm -rf /mnt/u && sync"
  guest_checks time $fs/creates guest_checks bench /mnt/c creates
  guest_checks time $fs/seqwrite guest_checks bench /mnt/s seqwrite
  guest_checks bench /mnt/s cachedread | sed "s|^BENCH |BENCH $fs/|"
  guest_checks time $fs/fileserver-mix guest_checks bench /mnt/x mix
  check umount /mnt
done
'
  with_ext4=1 make_initrd "$work/bench.cpio.gz" "$body"
  EXTRA_DISKS="$work/bench-ext4-ordered.img $work/bench-ext4-journal.img" \
    guest_run bench "$work/bench.cpio.gz" "$disk" "$work/bench.log"
  host_fsck "$disk" bench -n
  grep -a '^BENCH ' "$work/bench.log.txt" | sed 's/^BENCH //' | awk -F'[/ ]' '
    $0 !~ /^[^ ]*\// { next }  # the untimed lines of guest_checks bench
    { t[$1 "/" $2] = $3; order[++n] = $2 }
    END {
      printf "%-16s %10s %12s %12s %10s %10s\n", "workload", "bento s", "ext4-ord s", "ext4-jrn s", "x ordered", "x journal"
      for (i = 1; i <= n; i++) { k = order[i]; if (seen[k]++) continue
        b = t["bento/" k]; o = t["ext4-ordered/" k]; j = t["ext4-journal/" k]
        printf "%-16s %10.3f %12.3f %12.3f %10.2f %10.2f\n", k, b, o, j, (o > 0 ? b / o : 0), (j > 0 ? b / j : 0) } }' |
    tee "$work/bench.txt"
}

# features: the fs features the FUSE host has, through the VFS (feature_checks.cc): chattr
# flags, POSIX ACLs, SEEK_DATA/SEEK_HOLE, FIEMAP, fallocate modes, O_TMPFILE; a remount,
# then what must persist; host fsck clean.
run_features() {
  local disk=$work/features.img
  # 256 inodes: the allocator's cursor wraps within file-handles' creates (inode reuse).
  "$mkfs" --size 256M -N 256 "$disk" > /dev/null
  make_initrd "$work/features.cpio.gz" '
insmod /lib/modules/bento_fs.ko || echo "BENTO-FAIL insmod"
check mount -t bento /dev/vda /mnt
check guest_checks features /mnt
check umount /mnt
check mount -t bento /dev/vda /mnt
check guest_checks features-remount /mnt
check umount /mnt
check rmmod bento_fs
dmesg | grep -q "bento: unloaded, no allocation left" && echo "BENTO-OK no leak" || { echo "BENTO-FAIL leak"; fails=$((fails+1)); }
'
  guest_run features "$work/features.cpio.gz" "$disk" "$work/features.log" 'FEATURE '
  host_fsck "$disk" features -n
}

run_upgrade() {
  local disk=$work/upgrade.img
  # A 64 MiB provenance log: the default (1/64 of the image, 4 MiB) fills up under the
  # writers within the run, and a record past a full log is only counted in its gap (one
  # CI run lost prov-after-refuse-5 so, with the log at 4,190,072 bytes).
  "$mkfs" --size 256M -P 64 "$disk" > /dev/null
  make_initrd "$work/upgrade.cpio.gz" '
insmod /lib/modules/bento_fs.ko || echo "BENTO-FAIL insmod"
insmod /lib/modules/bento_prov.ko || echo "BENTO-FAIL insmod prov"
check mount -t bento /dev/vda /mnt
mkdir /mnt/w
guest_checks upgradework /mnt/w /tmp/stop > /tmp/work.log 2>&1 &
wpid=$!
sleep 3
check guest_checks upgrade /mnt bento
sleep 2
check sh -c "! rmmod bento_fs 2>/dev/null"
check guest_checks upgrade /mnt bento_prov
sleep 2
check rmmod bento_fs
check guest_checks upgrade /mnt bento_prov refuse
sleep 2
check sh -c "echo after > /mnt/prov-after-upgrade"
# Bento-prov records after the switch, readable after one sync (a sync during a commit in
# flight once returned early: kernel/module/README.md, Live upgrade). Then more refused
# upgrades under the writers, each followed by a create, one sync and a read.
check sync
check grep -q prov-after-upgrade /mnt/.bento-provlog
for i in 1 2 3 4 5; do
  check guest_checks upgrade /mnt bento_prov refuse
  echo x > /mnt/prov-after-refuse-$i
  sync
  check grep -q prov-after-refuse-$i /mnt/.bento-provlog
done
echo "DIAG log $(wc -c < /mnt/.bento-provlog) bytes"
check sh -c "! rmmod bento_prov 2>/dev/null"
check insmod /lib/modules/bento_fs.ko
check guest_checks upgrade /mnt /lib/modules/bento_fs.ko
sleep 2
check rmmod bento_prov
echo > /tmp/stop
wait $wpid
cat /tmp/work.log
check grep -q "^UPGRADEWORK .* failed=0 " /tmp/work.log
md5sum /mnt/w/* > /tmp/sums
check umount /mnt
check mount -t bento /dev/vda /mnt
check md5sum -c -s /tmp/sums
check umount /mnt
check rmmod bento_fs
# The record outlived prov disable and a remount: a plain bento_prov mount reads it.
check insmod /lib/modules/bento_prov.ko
check mount -t bento_prov /dev/vda /mnt
check grep -q prov-after-upgrade /mnt/.bento-provlog
check umount /mnt
check rmmod bento_prov
check rmmod bento_core
dmesg | grep -q "bento: core unloaded, no allocation left" && echo "BENTO-OK no leak" || { echo "BENTO-FAIL leak"; fails=$((fails+1)); }
'
  guest_run upgrade "$work/upgrade.cpio.gz" "$disk" "$work/upgrade.log" 'UPGRADE|DIAG'
  host_fsck "$disk" upgrade -n
}

# prov: the product on the kernel host, as scripts/demo.sh does it under FUSE. The guest
# writes its answers (prov why --json) and provd's log to a tar on a second disk.
run_prov() {
  local disk=$work/prov.img out=$work/prov-out.img
  "$mkfs" --size 256M "$disk" > /dev/null
  rm -f "$out" && truncate -s 64M "$out"
  local progs=("$build/bin/provd" "$build/bin/prov") p
  for p in dash cat sort cp mv sleep; do progs+=("$(readlink -f "$(type -P $p)")"); done
  with_host_progs="${progs[*]}" make_initrd "$work/prov.cpio.gz" '
export PATH=/bin:/usr/bin
mkdir -p /run /etc /usr/bin && mount -t tmpfs run /run
echo "root:x:0:0:root:/:/bin/sh" > /etc/passwd
for p in '"${progs[*]}"'; do
  [ -e /usr/bin/${p##*/} ] || busybox ln -s $p /usr/bin/${p##*/}
done
check test -r /sys/kernel/btf/vmlinux
insmod /lib/modules/bento_fs.ko || echo "BENTO-FAIL insmod"
insmod /lib/modules/bento_prov.ko || echo "BENTO-FAIL insmod prov"
check mount -t bento /dev/vda /mnt
mkdir /mnt/s /mnt/w /tmp/out
cat > /tmp/before.sh << "X"
cd /mnt/s
printf "b\na\n" > in1; printf "d\nc\n" > in2; echo topsecret > secret
cat in1 in2 | sort > out
X
cat > /tmp/after.sh << "X"
set -e
cd /mnt/s
cat in1 in2 | sort > out
cp out copy
echo redirected > redir
sort -r in2 > tmp
mv tmp final
dash -c "echo data > outlate; sleep 0.3; read x < secret"
X
# Untracked: plain Bento-fs.
check busybox env PATH=/usr/bin:/bin dash /tmp/before.sh
provd --db /tmp/prov.db --mount /mnt 2> /tmp/out/provd.log &
ppid=$!
n=0; until grep -q collecting /tmp/out/provd.log || [ $n -ge 600 ]; do n=$((n+1)); sleep 0.5; done
check grep -q collecting /tmp/out/provd.log
# Every probe loads on this kernel (the one of Debian 12): a verifier that refuses the syscall
# programs (stack, complexity) switches the fd events off, and the answers lose their data;
# one that refuses them with the copy calls loses which file a copy came from.
check sh -c "! grep -q \"provd: probes:\" /tmp/out/provd.log"
echo "DIAG provd ready after $((n / 2)) s"
cat /tmp/out/provd.log
guest_checks upgradework /mnt/w /tmp/stop > /tmp/work.log 2>&1 &
wpid=$!
sleep 2
check prov enable /mnt
sleep 1
echo > /tmp/stop
wait $wpid
cat /tmp/work.log
check grep -q "^UPGRADEWORK .* failed=0 " /tmp/work.log
check busybox env PATH=/usr/bin:/bin dash /tmp/after.sh
check kill -TERM $ppid
wait $ppid; echo "DIAG provd exit $?"
sed "s/^/DIAG /" /tmp/out/provd.log
for f in out copy redir final outlate; do
  check sh -c "prov why /mnt/s/$f --json --db /tmp/prov.db > /tmp/out/$f.json"
done
# The control for "not read after the write": the read of secret was seen.
check sh -c "prov impact /mnt/s/secret --json --db /tmp/prov.db > /tmp/out/secret.json"
prov why /mnt/s/out --db /tmp/prov.db --no-color
prov status --db /tmp/prov.db || true
check prov disable /mnt
check umount /mnt
check rmmod bento_prov
check rmmod bento_fs
cp /tmp/out/provd.log /tmp/out/provd.final.log
(cd /tmp/out && tar cf /dev/vdb .) && sync
'
  EXTRA_DISKS=$out guest_run prov "$work/prov.cpio.gz" "$disk" "$work/prov.log" \
    'UPGRADE|DIAG|UPGRADEWORK|tracking |provd:'
  host_fsck "$disk" prov -n
  rm -rf "$work/prov-out" && mkdir "$work/prov-out"
  tar xf "$out" -C "$work/prov-out" 2> /dev/null || true
  local edges=$build/tests/kernel/kernel_lineage_edges
  expect_edges() {  # FILE PRESENT|ABSENT ERE...
    local f=$1 want=$2 json=$work/prov-out/$1.json got
    shift 2
    got=$("$edges" "$json" /mnt/s 2>&1) || { echo "FAIL prov: why $f: $got" >&2; failed=1; return; }
    local re
    for re in "$@"; do
      if echo "$got" | grep -Eqx "$re"; then
        [ "$want" = PRESENT ] && continue
        echo "FAIL prov: why $f has an edge like /$re/:" >&2
      else
        [ "$want" = ABSENT ] && continue
        echo "FAIL prov: why $f has no edge like /$re/:" >&2
      fi
      echo "$got" | sed 's/^/    /' >&2
      failed=1
    done
  }
  expect_edges out PRESENT 'generated\(out, sort\)' 'used\(sort, pipe\)' \
    'generated\(pipe, cat in1 in2\)' 'used\(cat in1 in2, in1\)' 'used\(cat in1 in2, in2\)'
  expect_edges out ABSENT 'used\(.*, secret\)' '.*(final|redir|copy|outlate).*'
  expect_edges copy PRESENT 'generated\(copy, cp out copy\)' 'used\(cp out copy, out\)' \
    'used\(cat in1 in2, in1\)'
  expect_edges redir PRESENT 'generated\(redir, dash /tmp/after.sh\)'
  expect_edges final PRESENT 'generated\(tmp, sort -r in2\)' 'used\(sort -r in2, in2\)'
  expect_edges final ABSENT 'used\(sort -r in2, in1\)'
  expect_edges outlate PRESENT 'generated\(outlate, dash -c .*\)'
  expect_edges outlate ABSENT 'used\(.*, secret\)'
  expect_edges secret PRESENT 'used\(dash -c echo data > outlate; .*, secret\)'
  say "prov: checked the lineage of out, copy, redir, final, outlate (and the impact of secret)"
}

# provbench: the upgrade pause and the cost of tracking on the kernel host, one boot.
# Three images (Bento-fs, Bento-prov, Bento-prov under provd), each with a 256 MiB log so
# that no round fills it (the unacknowledged records of the log-only rounds stay).
run_provbench() {
  local n=${BENTO_KERNEL_UPGRADES:-100} reps=${BENTO_KERNEL_BENCH_REPS:-3}
  local files=${BENTO_KERNEL_TREE_FILES:-10000} d
  for d in fs prov provd; do "$mkfs" --size 2G -P 256 "$work/pb-$d.img" > /dev/null; done
  local progs=("$build/bin/provd" "$build/bin/prov")
  with_host_progs="${progs[*]}" make_initrd "$work/provbench.cpio.gz" '
export PATH=/bin:/usr/bin
mkdir -p /run /etc /usr/bin && mount -t tmpfs run /run
echo "root:x:0:0:root:/:/bin/sh" > /etc/passwd
for p in '"${progs[*]}"'; do busybox ln -s $p /usr/bin/${p##*/}; done
insmod /lib/modules/bento_fs.ko || echo "BENTO-FAIL insmod"
insmod /lib/modules/bento_prov.ko || echo "BENTO-FAIL insmod prov"
src_tar '"$files"'
rm -rf /tmp/src
# The upgrade pause: Bento-fs -> Bento-fs under 4 writer threads, 20 ms apart.
check mount -t bento /dev/vda /mnt
mkdir /mnt/w
guest_checks upgradework /mnt/w /tmp/stop > /tmp/work.log 2>&1 &
wpid=$!
sleep 2
i=0; while [ $i -lt '"$n"' ]; do
  guest_checks upgrade /mnt bento | sed "s/^UPGRADE /PAUSE /"
  sleep 0.02; i=$((i+1))
done
echo > /tmp/stop
wait $wpid
cat /tmp/work.log
check grep -q "^UPGRADEWORK .* failed=0 " /tmp/work.log
rm -rf /mnt/w /tmp/stop
check umount /mnt
# Tracking overhead: the three systems in turn, each round.
r=0; while [ $r -lt '"$reps"' ]; do
  # Each round starts with another system (order effects: caches, the load of the host).
  case $((r % 3)) in
    0) order="bento-fs bento-prov bento-prov+provd" ;;
    1) order="bento-prov bento-prov+provd bento-fs" ;;
    2) order="bento-prov+provd bento-fs bento-prov" ;;
  esac
  for sys in $order; do
    case $sys in
      bento-fs) check mount -t bento /dev/vda /mnt ;;
      bento-prov) check mount -t bento_prov /dev/vdb /mnt ;;
      bento-prov+provd)
        check mount -t bento_prov /dev/vdc /mnt
        provd --db /tmp/prov.db --mount /mnt 2> /tmp/provd.log &
        ppid=$!
        k=0; until grep -q collecting /tmp/provd.log || [ $k -ge 600 ]; do k=$((k+1)); sleep 0.5; done
        check grep -q collecting /tmp/provd.log ;;
    esac
    mkdir /mnt/u$r
    guest_checks time $sys/untar sh -c "tar xf /tmp/src.tar -C /mnt/u$r && sync"
    guest_checks time $sys/creates guest_checks bench /mnt/c$r creates
    if [ $sys = bento-prov+provd ]; then
      check kill -TERM $ppid
      wait $ppid
      echo "DIAG provd round $r: exit $?"
    fi
    check umount /mnt
  done
  r=$((r+1))
done
prov status --db /tmp/prov.db | sed "s/^/DIAG /"
'
  local load0
  load0=$(cut -d' ' -f1-3 /proc/loadavg)
  # Longer than the other boots: three rounds of three systems took 15+ min at load 11.
  EXTRA_DISKS="$work/pb-prov.img $work/pb-provd.img" \
    BENTO_KERNEL_BOOT_TIMEOUT=${BENTO_KERNEL_BOOT_TIMEOUT:-3600} \
    guest_run provbench "$work/provbench.cpio.gz" "$work/pb-fs.img" "$work/provbench.log" \
    'UPGRADEWORK|DIAG'
  say "provbench: host load average $load0 before, $(cut -d' ' -f1-3 /proc/loadavg) after ($(nproc) CPUs)"
  for d in fs prov provd; do host_fsck "$work/pb-$d.img" "provbench ($d)" -n; done
  # The pause and the wait, in ms.
  grep -a '^PAUSE ' "$work/provbench.log.txt" | sed -n 's/.*pause_ns=\([0-9]*\) wait_ns=\([0-9]*\).*/\1 \2/p' |
    awk -v want="$n" '
      { p[NR] = $1 / 1e6; w[NR] = $2 / 1e6 }
      function pct(a, n, q,   i, j, t, k) {  # nearest rank on a sorted copy
        for (i = 1; i <= n; i++) s[i] = a[i]
        for (i = 2; i <= n; i++) { t = s[i]; for (j = i - 1; j >= 1 && s[j] > t; j--) s[j + 1] = s[j]; s[j + 1] = t }
        k = int(q * n + 0.999999); if (k < 1) k = 1; if (k > n) k = n
        return s[k] }
      END {
        printf "upgrades Bento-fs -> Bento-fs under 4 writers (TCG): %d of %d\n", NR, want
        if (NR == 0) exit
        printf "  pause ms: p50 %.2f  p99 %.2f  max %.2f\n", pct(p, NR, 0.5), pct(p, NR, 0.99), pct(p, NR, 1)
        printf "  wait  ms: p50 %.2f  p99 %.2f  max %.2f\n", pct(w, NR, 0.5), pct(w, NR, 0.99), pct(w, NR, 1) }' |
    tee "$work/provbench.txt"
  local got
  got=$(grep -ac '^PAUSE .*: upgraded pause_ns=' "$work/provbench.log.txt" || true)
  if [ "${got:-0}" -ne "$n" ]; then
    echo "FAIL provbench: $got of $n upgrades succeeded" >&2
    grep -a '^PAUSE ' "$work/provbench.log.txt" | grep -v ': upgraded ' | head -5 >&2
    failed=1
  fi
  # Tracking overhead: mean seconds per system and workload, ratio to Bento-fs.
  grep -a '^BENCH ' "$work/provbench.log.txt" | sed 's/^BENCH //' | awk -F'[/ ]' '
    $0 !~ /^[^ ]*\// { next }  # the untimed lines of guest_checks bench
    { sum[$1 "/" $2] += $3; cnt[$1 "/" $2]++; if (!seen[$2]++) order[++n] = $2 }
    END {
      printf "%-10s %12s %12s %18s %8s %8s\n", "workload", "bento-fs s", "bento-prov s", "prov+provd s", "x prov", "x provd"
      for (i = 1; i <= n; i++) { k = order[i]
        f = sum["bento-fs/" k] / cnt["bento-fs/" k]; p = sum["bento-prov/" k] / cnt["bento-prov/" k]
        d = sum["bento-prov+provd/" k] / cnt["bento-prov+provd/" k]
        printf "%-10s %12.3f %12.3f %18.3f %8.2f %8.2f\n", k, f, p, d, (f > 0 ? p / f : 0), (f > 0 ? d / f : 0) } }' |
    tee -a "$work/provbench.txt"
}

start=$SECONDS
for t in "${tests[@]}"; do
  case $t in
    basic) run_basic ;;
    bench) run_bench ;;
    upgrade) run_upgrade ;;
    prov) run_prov ;;
    provbench) run_provbench ;;
    features) run_features ;;
    crash)
      for i in $(seq 1 "${BENTO_KERNEL_CRASH_POINTS:-1}"); do run_crash_once "$i"; done
      ;;
  esac
done
say "${tests[*]}: $((SECONDS - start)) s"
if [ $failed -ne 0 ]; then
  echo "kernel tests FAILED (logs in $work)" >&2
  exit 1
fi
say "all passed"
