#!/usr/bin/env bash
# The kernel host's benchmark and long crash test, under QEMU (tests/kernel/run.sh):
#   bench/kernel/run.sh [--quick] [--crash-points N]
# - ext4 (data=ordered, data=journal) vs kernel Bento-fs in one boot: untar of a
#   10,000-file tree, rm -rf, 10,000 small creates, sequential 1 MiB writes, cached reads,
#   a fileserver-like mix. TCG emulation: read the ratios, not the seconds.
# - the crash test at N random kill points (default 5; --quick: 1, and no bench).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
points=5
quick=0
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1; points=1; shift ;;
    --crash-points) points=$2; shift 2 ;;
    *) echo "usage: $0 [--quick] [--crash-points N]" >&2; exit 2 ;;
  esac
done
tests=(crash)
[ $quick -eq 1 ] || tests=(bench crash)
BENTO_KERNEL_CRASH_POINTS=$points exec bash "$here/tests/kernel/run.sh" "${tests[@]}"
