#!/bin/bash
# Runs the probes' tests (build/default/tests/bpf/bpf_probes_test) inside Debian's stable
# kernel under qemu (TCG): the same CO-RE object, built on this host, must load and pass
# there too (bpf/README.md, "Kernels"). Root; needs qemu-system-x86_64, busybox (static) and
# apt-get access to Debian's mirror (the kernel package is downloaded, not installed).
#
#   bash bpf/tools/test-on-debian-kernel.sh [--filter GTEST_FILTER] [--kernel VMLINUZ]
#
# Prints the tests' output and exits with their status (2: the guest did not report one).
# BENTO_BPF_VERBOSE=1 also prints libbpf's messages, verifier logs included.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
build=${BENTO_BUILD_DIR:-$here/build/default}
test_bin=$build/tests/bpf/bpf_probes_test
filter='*'
kernel=''
while [ $# -gt 0 ]; do
  case $1 in
    --filter) filter=$2; shift 2 ;;
    --kernel) kernel=$2; shift 2 ;;
    *) echo "usage: $0 [--filter GTEST_FILTER] [--kernel VMLINUZ]" >&2; exit 2 ;;
  esac
done
[ -x "$test_bin" ] || { echo "$test_bin missing: cmake --build $build --target bpf_probes_test" >&2; exit 2; }
for tool in qemu-system-x86_64 busybox cpio; do
  command -v $tool > /dev/null || { echo "$tool missing (scripts/install-deps.sh)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/bento-probes-qemu.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [ -z "$kernel" ]; then
  # Debian's current stable kernel (old versions leave the mirror: ask apt which one).
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$pkg" ] || { echo "apt-cache knows no linux-image-amd64 (apt-get update?)" >&2; exit 2; }
  (cd "$work" && apt-get download "$pkg" > /dev/null 2>&1) || { echo "apt-get download $pkg failed" >&2; exit 2; }
  dpkg-deb -x "$work"/"$pkg"_*.deb "$work/pkg"
  kernel=$(ls "$work"/pkg/boot/vmlinuz-*)
fi

# The initramfs: busybox for the init, the test binary, and the host's own programs that the
# tests exec (busybox's applets would run in-process, without the exec the tests look for),
# each with its libraries.
root=$work/root
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,run,etc} "$root/dev/shm"
cp /usr/bin/busybox "$root/bin/"
for app in mount ip poweroff; do
  ln -sf busybox "$root/bin/$app"
done
copy_with_libs() {  # FILE: at the same path in the guest, with what ldd says it needs
  mkdir -p "$root/$(dirname "$1")"
  cp -L "$1" "$root/$1"
  for lib in $(ldd "$1" 2> /dev/null | awk '/=> \// {print $3} /^\t\/lib64/ {print $1}'); do
    [ -e "$root/$lib" ] && continue
    mkdir -p "$root/$(dirname "$lib")"
    cp -L "$lib" "$root/$lib"
  done
}
copy_with_libs "$test_bin"
mv "$root/$test_bin" "$root/bin/bpf_probes_test"
for prog in sh true seq sort uniq sqlite3; do
  path=$(type -P $prog || true)
  [ -n "$path" ] || continue
  real=$(readlink -f "$path")
  copy_with_libs "$real"
  [ -e "$root/bin/$prog" ] || ln -sf "$real" "$root/bin/$prog"
done
verbose=''  # BENTO_BPF_VERBOSE=1 on the host: libbpf's messages (verifier logs) in the guest too
[ -n "${BENTO_BPF_VERBOSE:-}" ] && verbose='export BENTO_BPF_VERBOSE=1'
cat > "$root/init" <<EOF
#!/bin/busybox sh
export PATH=/bin:/usr/bin:/sbin:/usr/sbin
/bin/busybox mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
/bin/busybox mkdir -p /dev/shm
mount -t tmpfs shm /dev/shm
mount -t tmpfs tmp /tmp
ip link set lo up
echo "== kernel \$(/bin/busybox cat /proc/sys/kernel/osrelease)"
$verbose
/bin/bpf_probes_test --gtest_filter='$filter' --gtest_color=no
echo "== bento-probes-status \$?"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc 2> /dev/null | gzip -1) > "$work/initrd.gz"

log=$work/console.log
timeout 3600 qemu-system-x86_64 -m 2048 -smp 2 -kernel "$kernel" -initrd "$work/initrd.gz" \
  -append "console=ttyS0 panic=-1 quiet" -nographic -no-reboot > "$log" 2>&1 || true
tr -d '\r' < "$log" | sed -n '/== kernel/,/== bento-probes-status/p'
status=$(tr -d '\r' < "$log" | sed -n 's/^== bento-probes-status \([0-9]*\)$/\1/p')
if [ -z "$status" ]; then
  echo "the guest reported no status; console:" >&2
  tail -40 "$log" >&2
  exit 2
fi
exit "$status"
