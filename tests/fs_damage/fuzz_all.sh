#!/bin/bash
# Longer runs than CI's (20 s each): every fuzz target for SECONDS (default 600), then the
# corruption campaign over IMAGES images (default 2000). From a configured build:
#   bash tests/fs_damage/fuzz_all.sh [SECONDS] [IMAGES] [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
secs=${1:-600} images=${2:-2000} build=${3:-$here/../../build/default}
cmake --build "$build" --target fs_fuzzers fs_corruption_campaign
fail=0
for t in superblock inode dir xattr journal prov; do
  echo "== fuzz_$t ($secs s)"
  bash "$here/fuzz/run_fuzzer.sh" "$build/tests/fs_damage/fuzz/fuzz_$t" "$here/fuzz/corpus/$t" "$secs" || fail=1
done
echo "== corruption campaign ($images images)"
"$build/tests/fs_damage/fs_corruption_campaign" --images "$images" --seed "$RANDOM" || fail=1
exit $fail
