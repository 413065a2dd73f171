#!/usr/bin/env bash
# The kernel host's benchmark and long crash test, under QEMU (tests/kernel/run.sh):
#   bench/kernel/run.sh [--quick] [--crash-points N] [--upgrades N]
# - ext4 (data=ordered, data=journal) vs kernel Bento-fs in one boot: untar of a
#   10,000-file tree, rm -rf, 10,000 small creates, sequential 1 MiB writes, cached reads,
#   a fileserver-like mix. TCG emulation: read the ratios, not the seconds.
# - provbench, one boot: the live-upgrade pause over N upgrades Bento-fs -> Bento-fs under
#   4 writer threads (default 100, also in quick mode: p50/p99/max), and the tracking
#   overhead: untar + sync and 10,000 creates on Bento-fs, Bento-prov and Bento-prov under
#   provd (3 rounds of a 10,000-file tree; --quick: 1 round of 2,000 files).
# - the crash test at N random kill points (default 5; --quick: 1, and no ext4 bench).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
points=5
quick=0
upgrades=100
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1; points=1; shift ;;
    --crash-points) points=$2; shift 2 ;;
    --upgrades) upgrades=$2; shift 2 ;;
    *) echo "usage: $0 [--quick] [--crash-points N] [--upgrades N]" >&2; exit 2 ;;
  esac
done
tests=(provbench crash)
[ $quick -eq 1 ] || tests=(bench provbench crash)
export BENTO_KERNEL_UPGRADES=$upgrades
if [ $quick -eq 1 ]; then
  export BENTO_KERNEL_BENCH_REPS=1 BENTO_KERNEL_TREE_FILES=2000
fi
BENTO_KERNEL_CRASH_POINTS=$points exec bash "$here/tests/kernel/run.sh" "${tests[@]}"
