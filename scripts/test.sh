#!/usr/bin/env bash
# Builds Bento and runs every test: once in the release build, once under ASan + UBSan.
#   scripts/test.sh           everything
#   scripts/test.sh --quick   release build only (skips the sanitizer pass)
# Tests that need root, FUSE or BPF run for real when those exist and say loudly when not.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = "--quick" ] && quick=1

bash scripts/install-deps.sh

echo "== format: clang-format --dry-run on every C++ source =="
git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror

# FUSE over io_uring (the *_uring CTest entries; bentofs -o uring): the fuse module's switch
# is off by default. Kernels without it have no such file: those tests then skip loudly.
sw=/sys/module/fuse/parameters/enable_uring
if [ -e "$sw" ] && [ "$(id -u)" -eq 0 ]; then echo Y >"$sw" || true; fi

jobs=$(nproc)
run_preset() {
  local preset=$1 t0=$SECONDS
  echo "== $preset: configure and build =="
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  # mount -t fuse.bento, fstab, umount, mkfs/fsck -t bento use the installed helpers
  # (the e2e tests point them at the build under test with BENTO_BIN_DIR).
  [ "$preset" = default ] && bash scripts/install.sh build/default
  echo "== $preset: built in $((SECONDS - t0)) s; tests =="
  t0=$SECONDS
  # -j: unit tests run side by side; tests with mounts hold one CTest resource lock, and
  # tests that load the eBPF probes or boot QEMU run alone (tests/CMakeLists.txt).
  ctest --preset "$preset" --timeout 900 -j "$jobs"
  echo "== $preset: tests took $((SECONDS - t0)) s =="
}

run_preset default
[ $quick -eq 1 ] || run_preset asan
echo "== all tests passed =="
